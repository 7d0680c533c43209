// Package translate turns step-up annotations on a Kubernetes Ingress into
// the stepup handler's JSON config, inserted into the Caddy route the Caddy
// ingress controller builds for each of the Ingress's paths.
//
// It is pure: it reads only its arguments (an Ingress, the route being built,
// the controller config) and never fails the conversion. A bad annotation
// closes that Ingress's routes with a 503 and comes back as a Diagnostic
// naming the Ingress and the annotation key, because an error returned to the
// controller would keep the whole cluster on its last configuration.
package translate

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	networkingv1 "k8s.io/api/networking/v1"
)

// Diagnostic is one problem that closed an Ingress's routes.
type Diagnostic struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Key is the full annotation key at fault, or empty when the
	// controller's own step-up config is.
	Key     string `json:"key,omitempty"`
	Message string `json:"message"`
}

func (d Diagnostic) String() string {
	where := "controller step-up config"
	if d.Key != "" {
		where = "annotation " + d.Key
	}
	return fmt.Sprintf("ingress %s/%s: %s: %s; its routes answer 503 until this is fixed", d.Namespace, d.Name, where, d.Message)
}

// Translator applies step-up annotations with one controller config. It
// holds no mutable state and is safe for concurrent use.
type Translator struct {
	cfg    *Config
	cfgErr error
}

// New returns a Translator for cfg.
func New(cfg *Config) *Translator { return &Translator{cfg: cfg} }

// Failing returns a Translator for a controller whose step-up config could
// not be loaded: Ingresses without step-up annotations are untouched, and
// every annotated one is closed with err as its diagnostic.
func Failing(err error) *Translator { return &Translator{cfgErr: err} }

// Endpoint paths. Each Ingress gets its own, under EndpointBase, so the
// callback always reaches a handler that knows the Ingress's rule; register
// https://<host>/.stepup/<namespace>/<name>/callback at the IdP.
const (
	EndpointBase = "/.stepup/"
	ruleName     = "ingress" // the rule's name when no policy is named
)

// Endpoints returns the callback, login and logout paths of ing's handler.
func Endpoints(namespace, name string) (callback, login, logout string) {
	base := EndpointBase + namespace + "/" + name + "/"
	return base + "callback", base + "login", base + "logout"
}

// Apply adds step-up to route, one of the routes the controller builds for
// ing. An Ingress without annotations under Prefix (or misspellings of it)
// is left alone. Otherwise
// the stepup handler goes first in the route (so it sees the client's path,
// before any rewrite, and runs before the reverse proxy), and every matcher
// set that restricts the path gets a twin matching the handler's endpoints.
// With diagnostics, a 503 static_response goes first instead.
func (t *Translator) Apply(ing *networkingv1.Ingress, route *caddyhttp.Route) []Diagnostic {
	ours, misspelt := ourAnnotations(ing.Annotations)
	if len(ours) == 0 && len(misspelt) == 0 {
		return nil
	}
	diag := func(key, msg string) Diagnostic {
		return Diagnostic{Namespace: ing.Namespace, Name: ing.Name, Key: key, Message: msg}
	}
	if t.cfgErr != nil {
		return closeRoute(route, []Diagnostic{diag("", t.cfgErr.Error())})
	}
	var diags []Diagnostic
	for _, k := range misspelt {
		diags = append(diags, diag(k, "not our annotation prefix; step-up annotations start with "+Prefix))
	}
	handler, problems := t.handler(ing, ours)
	for _, p := range problems {
		diags = append(diags, diag(Prefix+p.key, p.msg))
	}
	if len(diags) > 0 {
		return closeRoute(route, diags)
	}
	route.HandlersRaw = append([]json.RawMessage{handler}, route.HandlersRaw...)
	callback, login, logout := Endpoints(ing.Namespace, ing.Name)
	endpoints := mustJSON(caddyhttp.MatchPath{callback, login, logout})
	var twins caddyhttp.RawMatcherSets
	for _, set := range route.MatcherSetsRaw {
		if _, ok := set["path"]; !ok {
			continue // already matches the endpoints
		}
		twin := make(caddy.ModuleMap, len(set))
		for k, v := range set {
			twin[k] = v
		}
		twin["path"] = endpoints
		twins = append(twins, twin)
	}
	route.MatcherSetsRaw = append(route.MatcherSetsRaw, twins...)
	return nil
}

// closeRoute makes route answer 503 before anything else runs.
func closeRoute(route *caddyhttp.Route, diags []Diagnostic) []Diagnostic {
	sort.SliceStable(diags, func(i, j int) bool { return diags[i].Key < diags[j].Key })
	route.HandlersRaw = append([]json.RawMessage{closedHandler}, route.HandlersRaw...)
	return diags
}

// ClosedBody is what clients of a closed route read. It names no detail:
// those are in the Ingress's events and the controller's log.
const ClosedBody = "503 Service Unavailable: this route is closed because its step-up (authentication) configuration is invalid. The cluster operator can see why in the Ingress's events.\n"

var closedHandler = mustJSON(map[string]any{
	"handler":     "static_response",
	"status_code": http.StatusServiceUnavailable,
	"headers": http.Header{
		"Content-Type":  {"text/plain; charset=utf-8"},
		"Cache-Control": {"no-store"},
	},
	"body": ClosedBody,
})

// handler builds the stepup handler for ing from its annotations (keyed
// without prefix), or returns the problems that prevent it.
func (t *Translator) handler(ing *networkingv1.Ingress, ours map[string]string) (json.RawMessage, []problem) {
	s, problems := parseSettings(ours, true)
	name := ruleName
	if s.policy != "" {
		p, ok := t.cfg.policies[s.policy]
		if !ok {
			known := strings.Join(t.cfg.PolicyNames(), ", ")
			if known == "" {
				known = "none"
			}
			problems = append(problems, problem{KeyPolicy, fmt.Sprintf("no policy %q in the controller config (known: %s)", s.policy, known)})
		} else {
			s, name = p.over(s), s.policy
		}
	}
	riskCfg, err := t.cfg.riskFor(s)
	if ke, ok := err.(*keyError); ok {
		problems = append(problems, problem{ke.key, ke.err.Error()})
	} else if err != nil {
		problems = append(problems, problem{KeyRiskStepUp, err.Error()})
	}
	if len(problems) > 0 {
		return nil, problems
	}
	reportOnly := s.reportOnly != nil && *s.reportOnly
	h := t.cfg.stepupHandler(ing.Namespace, ing.Name, stepupRule(name, s), riskCfg, reportOnly)
	return moduleJSON(h), nil
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("translate: marshalling %T: %v", v, err))
	}
	return b
}
