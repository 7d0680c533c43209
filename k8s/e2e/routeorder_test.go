package e2e

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-stepup/caddy-stepup/k8s/internal/controllersim"
	"github.com/caddy-stepup/caddy-stepup/k8s/translate"
)

const orderNS = "order"

// orderIngress is one Ingress of the route-order cases: one host, one Prefix
// path, plain HTTP.
func orderIngress(name, host, path, backend string, annotations map[string]string) *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	class := "caddy-stepup"
	a := map[string]string{controllersim.DisableSSLRedirect: "true"}
	for k, v := range annotations {
		a[k] = v
	}
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: orderNS, Annotations: a},
		Spec: networkingv1.IngressSpec{IngressClassName: &class, Rules: []networkingv1.IngressRule{{
			Host: host,
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: path, PathType: &prefix,
				Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
					Name: backend, Port: networkingv1.ServiceBackendPort{Number: 80},
				}},
			}}}},
		}}},
	}
}

func before(t *testing.T, order []string, a, b, why string) {
	t.Helper()
	i, j := slices.Index(order, a), slices.Index(order, b)
	if i < 0 || j < 0 || i > j {
		t.Fatalf("store order %v: want %s before %s (%s)", order, a, b, why)
	}
}

// TestStepUpDoesNotDependOnRouteOrder creates Ingresses sharing hosts through
// the API server in orders that put another Ingress's route ahead of an
// annotated one, builds the controller's routes from stores fed by real
// informers (a replica running while they are created, and one started
// afterwards, as after a rollout), with and without the smart sort, and
// serves each conversion with Caddy. Every annotated path must meet its
// step-up (or its 503) in every variant. The same conversions without the
// adapter's global hook show that each case is a real bypass.
func TestStepUpDoesNotDependOnRouteOrder(t *testing.T) {
	ctx := t.Context()
	if _, err := cp.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: orderNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	running := startReplica(t)

	mfa := map[string]string{ann + "acr": "mfa"}
	create := func(ing *networkingv1.Ingress) {
		t.Helper()
		if _, err := cp.client.NetworkingV1().Ingresses(orderNS).Create(ctx, ing, metav1.CreateOptions{FieldValidation: "Strict"}); err != nil {
			t.Fatal(err)
		}
	}
	// Each case has its host. Creation order matters, and so do names: the
	// informer's initial list (a restarted replica) is sorted by name.
	create(orderIngress("a-site", "a.localhost", "/", "site", nil)) // the catch-all created first
	create(orderIngress("a-admin", "a.localhost", "/admin", "admin", mfa))
	create(orderIngress("b-secure", "b.localhost", "/secure", "admin", mfa))
	create(orderIngress("b-all", "b.localhost", "/", "site", nil)) // created after, but first by name
	create(orderIngress("d-admin", "d.localhost", "/admin", "admin", mfa))
	create(orderIngress("d-reports", "d.localhost", "/admin/reports", "reports", nil)) // longer: first with the smart sort
	create(orderIngress("e-all", "e.localhost", "/", "site", nil))
	create(orderIngress("e-broken", "e.localhost", "/broken", "admin", map[string]string{ann + "max-age": "300"}))
	create(orderIngress("c-temp", "c.localhost", "/promo", "site", nil))
	create(orderIngress("c-admin", "c.localhost", "/admin", "admin", mfa))
	create(orderIngress("c-site", "c.localhost", "/", "site", nil))
	all := []string{"a-site", "a-admin", "b-secure", "b-all", "d-admin", "d-reports", "e-all", "e-broken", "c-temp", "c-admin", "c-site"}
	running.waitFor(t, all)
	// Deleting c-temp moves the last Ingress, c-site, into its slot: ahead
	// of c-admin.
	if err := cp.client.NetworkingV1().Ingresses(orderNS).Delete(ctx, "c-temp", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	all = slices.DeleteFunc(all, func(n string) bool { return n == "c-temp" })
	runningOrder := running.waitFor(t, all)
	restarted := startReplica(t)
	restartedOrder := restarted.waitFor(t, all)
	t.Logf("store order, running replica:   %v", runningOrder)
	t.Logf("store order, restarted replica: %v", restartedOrder)

	// The preconditions: each case puts a catch-all ahead in some replica.
	before(t, runningOrder, "a-site", "a-admin", "created first")
	before(t, runningOrder, "c-site", "c-admin", "moved by the deletion of c-temp")
	before(t, runningOrder, "e-all", "e-broken", "created first")
	before(t, restartedOrder, "b-all", "b-secure", "the initial list is sorted by name")

	op := startOP(t, clientID, clientSecret)
	tr := translate.New(controllerConfig(t, op.Issuer()))
	upstream := orderUpstreams(t)
	challenge := func(r response) bool {
		return r.status == http.StatusUnauthorized && strings.Contains(r.header.Get("WWW-Authenticate"), `acr_values="mfa"`)
	}
	closed := func(r response) bool {
		return r.status == http.StatusServiceUnavailable && r.body == translate.ClosedBody
	}
	from := func(backend string) func(response) bool {
		return func(r response) bool { return r.status == http.StatusOK && r.body == "upstream="+backend }
	}
	// Without the hook, the bypass each case is about (and what the smart
	// sort alone fixes).
	bypass := map[string][]struct {
		host, path string
		ok         func(response) bool
	}{
		"running replica, arrival order, without the global hook": {
			{"a.localhost", "/admin/x", from("site")},
			{"c.localhost", "/admin/x", from("site")},
			{"e.localhost", "/broken/x", from("site")},
		},
		"restarted replica, arrival order, without the global hook": {
			{"b.localhost", "/secure/x", from("site")},
		},
		"running replica, smart sort, without the global hook": {
			{"a.localhost", "/admin/x", challenge}, // the smart sort alone fixes this one
			{"d.localhost", "/admin/reports/q", from("reports")},
		},
	}
	type variant struct {
		name    string
		replica *replica
		opts    controllersim.Options
		addr    string
	}
	var variants []*variant
	for _, r := range []struct {
		name string
		r    *replica
	}{{"running replica", running}, {"restarted replica", restarted}} {
		for _, smart := range []bool{false, true} {
			for _, guard := range []bool{true, false} {
				name := r.name + ", arrival order"
				if smart {
					name = r.name + ", smart sort"
				}
				if !guard {
					name += ", without the global hook"
					if bypass[name] == nil {
						continue
					}
				}
				variants = append(variants, &variant{name: name, replica: r.r,
					opts: controllersim.Options{SmartSort: smart, WithoutGuard: !guard, Upstream: upstream}})
			}
		}
	}
	servers := map[string]caddyhttp.RouteList{}
	for _, v := range variants {
		routes, diags := controllersim.Convert(tr, v.replica.ingresses(), v.opts)
		if len(diags) != 1 || diags[0].Name != "e-broken" {
			t.Fatalf("%s: diagnostics %v, want one for e-broken", v.name, diags)
		}
		v.addr = loopbackAddr()
		servers[v.addr] = routes
	}
	startCaddy(t, "route-order", variants[0].addr, controllersim.Servers(servers, t.TempDir()), "STEPUP_CLIENT_SECRET="+clientSecret)
	for _, v := range variants {
		waitListening(t, v.addr)
	}

	// Every variant with the hook: annotated paths meet their step-up,
	// other paths reach their upstream.
	protected := []struct {
		host, path, why string
		ok              func(response) bool
	}{
		{"a.localhost", "/admin/x", "catch-all created first", challenge},
		{"a.localhost", "/admin", "catch-all created first", challenge},
		{"b.localhost", "/secure/x", "catch-all first by name", challenge},
		{"c.localhost", "/admin/x", "catch-all moved ahead by a deletion", challenge},
		{"d.localhost", "/admin/x", "annotated prefix", challenge},
		{"d.localhost", "/admin/reports/q", "an unannotated longer path under the annotated prefix", challenge},
		{"e.localhost", "/broken/x", "a closed Ingress behind a catch-all", closed},
		{"a.localhost", "/home", "the catch-all's own path", from("site")},
		{"c.localhost", "/home", "the catch-all's own path", from("site")},
		{"e.localhost", "/home", "the catch-all's own path", from("site")},
	}
	for _, v := range variants {
		p := &caddyProc{addr: v.addr}
		t.Run(v.name, func(t *testing.T) {
			if v.opts.WithoutGuard {
				for _, c := range bypass[v.name] {
					r := request(t, p, http.MethodGet, c.host, c.path, api)
					if !c.ok(r) {
						t.Errorf("GET %s%s: %d %q; the model does not reproduce the case it is about", c.host, c.path, r.status, r.body)
					}
				}
				return
			}
			for _, c := range protected {
				r := request(t, p, http.MethodGet, c.host, c.path, api)
				if !c.ok(r) {
					t.Errorf("GET %s%s (%s): %d %q %q", c.host, c.path, c.why, r.status, r.body, r.header.Get("WWW-Authenticate"))
				}
			}
		})
	}
}
