package translate_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/caddy-stepup/caddy-stepup/k8s/internal/controllersim"
	"github.com/caddy-stepup/caddy-stepup/k8s/translate"
)

func hostIngress(name string, annotations map[string]string, paths ...string) *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	var ps []networkingv1.HTTPIngressPath
	for _, p := range paths {
		ps = append(ps, networkingv1.HTTPIngressPath{Path: p, PathType: &prefix, Backend: networkingv1.IngressBackend{
			Service: &networkingv1.IngressServiceBackend{Name: name, Port: networkingv1.ServiceBackendPort{Number: 80}},
		}})
	}
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, Annotations: annotations},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
			Host:             "shop.example.com",
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: ps}},
		}}},
	}
}

// TestGuardMovesStepUpAheadOfEveryRoute checks the shape translate.Guard
// gives the controller's routes: one non-terminal guard per annotated
// Ingress (and one for the closed ones) first, matching what that Ingress's
// routes matched, and the routes themselves left with the controller's own
// handlers. The e2e test TestStepUpDoesNotDependOnRouteOrder serves it.
func TestGuardMovesStepUpAheadOfEveryRoute(t *testing.T) {
	tr := translate.New(testConfig(t))
	ings := []*networkingv1.Ingress{
		hostIngress("site", nil, "/"),
		hostIngress("admin", map[string]string{p + "acr": "mfa"}, "/admin", "/keys"),
		hostIngress("broken", map[string]string{p + "max-age": "300"}, "/broken"),
	}
	before, _ := controllersim.Convert(tr, ings, controllersim.Options{WithoutGuard: true})
	after := translate.Guard(before)

	if len(after) != len(before)+2 {
		t.Fatalf("%d routes after Guard, want the %d routes and 2 guards", len(after), len(before))
	}
	guard, closed := after[0], after[1]
	if names := handlerNames(t, guard.HandlersRaw); !slices.Equal(names, []string{"stepup"}) || guard.Terminal {
		t.Errorf("first guard: handlers %v terminal %v, want only stepup, not terminal", names, guard.Terminal)
	}
	// admin's two routes each have their path set and their endpoint twin.
	want := slices.Concat(before[1].MatcherSetsRaw, before[2].MatcherSetsRaw[:1])
	if got, w := mustMarshal(t, guard.MatcherSetsRaw), mustMarshal(t, want); got != w {
		t.Errorf("guard matches %s, want the union of admin's routes' matchers %s", got, w)
	}
	if names := handlerNames(t, closed.HandlersRaw); !slices.Equal(names, []string{"static_response"}) || closed.Terminal {
		t.Errorf("second guard: handlers %v, want only the 503", names)
	}
	if got, w := mustMarshal(t, closed.MatcherSetsRaw), mustMarshal(t, before[3].MatcherSetsRaw); got != w {
		t.Errorf("closed guard matches %s, want broken's %s", got, w)
	}
	for i, r := range after[2:] {
		if names := handlerNames(t, r.HandlersRaw); !slices.Equal(names, []string{"reverse_proxy"}) {
			t.Errorf("route %d keeps handlers %v, want only the controller's reverse proxy", i, names)
		}
		if got, w := mustMarshal(t, r.MatcherSetsRaw), mustMarshal(t, before[i].MatcherSetsRaw); got != w {
			t.Errorf("route %d matchers changed: %s, was %s", i, got, w)
		}
	}
}

func TestGuardLeavesRoutesWithoutStepUpAlone(t *testing.T) {
	tr := translate.New(testConfig(t))
	routes, _ := controllersim.Convert(tr, []*networkingv1.Ingress{hostIngress("site", nil, "/", "/a")}, controllersim.Options{WithoutGuard: true})
	if got, want := mustMarshal(t, translate.Guard(routes)), mustMarshal(t, routes); got != want {
		t.Errorf("Guard changed routes without step-up:\n got %s\nwant %s", got, want)
	}
}

func handlerNames(t *testing.T, hs []json.RawMessage) []string {
	t.Helper()
	var out []string
	for _, h := range hs {
		out = append(out, handlerName(t, h))
	}
	return out
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestGuardFindsAStepupHandlerWhateverItsKeyOrder: the guard knows the
// handlers Apply writes by their first bytes, and any other stepup handler
// (its keys in another order) by decoding it; a handler that only mentions
// stepup in a value stays where it is.
func TestGuardFindsAStepupHandlerWhateverItsKeyOrder(t *testing.T) {
	reordered := json.RawMessage(`{"provider":{"issuer":"https://idp.example.com","client_id":"c"},"handler":"stepup"}`)
	mention := json.RawMessage(`{"handler":"static_response","body":"\"stepup\""}`)
	in := []caddyhttp.Route{{
		MatcherSetsRaw: caddyhttp.RawMatcherSets{{"path": json.RawMessage(`["/a"]`)}},
		HandlersRaw:    []json.RawMessage{reordered, mention},
	}}
	out := translate.Guard(in)
	if len(out) != 2 {
		t.Fatalf("%d routes, want the guard and the route", len(out))
	}
	if got := out[0].HandlersRaw; len(got) != 1 || string(got[0]) != string(reordered) {
		t.Errorf("guard handlers %s, want the reordered stepup handler", got)
	}
	if got := out[1].HandlersRaw; len(got) != 1 || string(got[0]) != string(mention) {
		t.Errorf("route handlers %s, want the static_response left in place", got)
	}
}
