// Package controllersim builds, for tests, the Caddy routes and config the
// Caddy ingress controller (github.com/caddyserver/ingress, main at 0e3de1e)
// would build for a set of Ingresses, with the step-up adapter
// (k8s/ingressplugin) applied where it hooks in.
//
// It stands in for the controller, which cannot be built here (its module is
// not on the Go module proxy). It is written from a reading of the
// controller's source, not copied from it; each part names the file and
// lines it follows:
//
//   - Store: the order Ingresses reach the route builder (pkg/store/store.go
//     L28-65: appended on arrival, replaced in place on update, and on
//     delete the last Ingress moves into the deleted one's slot).
//   - Route: one route per Ingress rule and path, built by the controller's
//     per-route plugins in its plugin order (pkg/converter/converter.go
//     L70-88: higher priority first, then by name): ingress.redirect and
//     ingress.rewrite (10), ingress.matcher (0), our stepup (-5),
//     ingress.reverseproxy (-10). Matchers: internal/caddy/ingress/matcher.go
//     L23-52; rewrite: rewrite.go L21-44; reverse proxy: reverseproxy.go
//     L26-71 (upstream only).
//   - Convert: the global plugins in the same order (internal/caddy/convert.go
//     L14-26): ingress (0) builds every route in store order
//     (internal/caddy/global/ingress.go L33-63), ingress_sort (-2) sorts them
//     when the ConfigMap sets experimentalSmartSort (ingress_sort.go L37-72),
//     then our stepup (-5) hook, translate.Guard.
//
// Not modelled: the redirect annotations (an invalid one fails the whole
// conversion, so the controller keeps its last config); backend-protocol,
// trusted-proxies and the transport; TLS, metrics and healthz servers; a
// -plugins-order flag; Ingress rules without http (the controller
// dereferences rule.HTTP; the model skips them).
package controllersim

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/caddy-stepup/caddy-stepup/k8s/translate"
)

// DisableSSLRedirect is the controller's annotation that drops the protocol
// https matcher (the e2e tests serve plain HTTP on loopback).
const DisableSSLRedirect = "caddy.ingress.kubernetes.io/disable-ssl-redirect"

// Upstream maps an Ingress backend to the address the reverse proxy dials.
// The controller dials <service>.<namespace>.svc.cluster.local:<port>.
type Upstream func(ing *networkingv1.Ingress, backend networkingv1.IngressBackend) string

// ClusterDNS is the controller's Upstream.
func ClusterDNS(ing *networkingv1.Ingress, b networkingv1.IngressBackend) string {
	return fmt.Sprintf("%s.%s.svc.cluster.local:%d", b.Service.Name, ing.Namespace, b.Service.Port.Number)
}

// Matchers returns the matcher set the controller gives one Ingress path.
func Matchers(ing *networkingv1.Ingress, rule networkingv1.IngressRule, path networkingv1.HTTPIngressPath) caddy.ModuleMap {
	set := caddy.ModuleMap{}
	if ing.Annotations[DisableSSLRedirect] != "true" {
		set["protocol"] = mustJSON("https")
	}
	if rule.Host != "" {
		set["host"] = mustJSON(caddyhttp.MatchHost{rule.Host})
	}
	if p := path.Path; p != "" {
		switch {
		case path.PathType != nil && *path.PathType == networkingv1.PathTypePrefix && strings.TrimSuffix(p, "/") == "":
			set["path"] = mustJSON(caddyhttp.MatchPath{"/*"})
		case path.PathType != nil && *path.PathType == networkingv1.PathTypePrefix:
			p = strings.TrimSuffix(p, "/")
			set["path"] = mustJSON(caddyhttp.MatchPath{p, p + "/*"})
		default:
			set["path"] = mustJSON(caddyhttp.MatchPath{p})
		}
	}
	return set
}

// Controller annotations the model follows (internal/caddy/ingress/annotations.go).
const (
	RewriteTo          = "caddy.ingress.kubernetes.io/rewrite-to"
	RewriteStripPrefix = "caddy.ingress.kubernetes.io/rewrite-strip-prefix"
)

// Route builds one path's route as the controller's per-route plugins do, in
// their order: the rewrite handlers (priority 10), the matcher set (0), the
// step-up translation (our adapter, -5: it puts its handler first), and the
// reverse proxy (-10) last.
func Route(t *translate.Translator, ing *networkingv1.Ingress, rule networkingv1.IngressRule, path networkingv1.HTTPIngressPath, upstream Upstream) (caddyhttp.Route, []translate.Diagnostic) {
	r := caddyhttp.Route{
		MatcherSetsRaw: caddyhttp.RawMatcherSets{},
		HandlersRaw:    []json.RawMessage{},
	}
	if to := ing.Annotations[RewriteTo]; to != "" {
		r.HandlersRaw = append(r.HandlersRaw, mustJSON(map[string]string{"handler": "rewrite", "uri": to}))
	}
	if strip := ing.Annotations[RewriteStripPrefix]; strip != "" {
		r.HandlersRaw = append(r.HandlersRaw, mustJSON(map[string]string{"handler": "rewrite", "strip_path_prefix": strip}))
	}
	r.MatcherSetsRaw = append(r.MatcherSetsRaw, Matchers(ing, rule, path))
	diags := t.Apply(ing, &r)
	r.HandlersRaw = append(r.HandlersRaw, mustJSON(map[string]any{
		"handler":   "reverse_proxy",
		"upstreams": []map[string]string{{"dial": upstream(ing, path.Backend)}},
	}))
	return r, diags
}

// Options are the controller settings the model takes.
type Options struct {
	// SmartSort is the controller ConfigMap's experimentalSmartSort.
	SmartSort bool
	// WithoutGuard leaves out the adapter's global hook (translate.Guard),
	// as a build of the adapter without it would: only for tests that show
	// the bypass the hook closes.
	WithoutGuard bool
	// Upstream is where the reverse proxies dial (default ClusterDNS).
	Upstream Upstream
}

// Convert builds the ingress server's routes from ings, taken in the order
// given (a Store's order), as the controller's global plugins do: every
// route of every Ingress, then the smart sort if on, then the adapter's
// global hook.
func Convert(t *translate.Translator, ings []*networkingv1.Ingress, o Options) (caddyhttp.RouteList, []translate.Diagnostic) {
	upstream := o.Upstream
	if upstream == nil {
		upstream = ClusterDNS
	}
	var routes caddyhttp.RouteList
	var diags []translate.Diagnostic
	for _, ing := range ings {
		for _, rule := range ing.Spec.Rules {
			if rule.HTTP == nil {
				continue
			}
			for _, path := range rule.HTTP.Paths {
				r, d := Route(t, ing, rule, path, upstream)
				routes = append(routes, r)
				diags = append(diags, d...)
			}
		}
	}
	if o.SmartSort {
		SmartSort(routes)
	}
	if !o.WithoutGuard {
		routes = translate.Guard(routes)
	}
	return routes, diags
}

// Routes is Convert in the order given, without the smart sort.
func Routes(t *translate.Translator, ings []*networkingv1.Ingress, upstream Upstream) (caddyhttp.RouteList, []translate.Diagnostic) {
	return Convert(t, ings, Options{Upstream: upstream})
}

// Config is a whole Caddy config serving routes on listen (plain HTTP), with
// its storage (where stepup keeps its session keys) in storageDir. The admin
// endpoint is off.
func Config(routes caddyhttp.RouteList, listen, storageDir string) []byte {
	return Servers(map[string]caddyhttp.RouteList{listen: routes}, storageDir)
}

// Servers is Config with one plain-HTTP server per listen address, each with
// its own routes (so one Caddy process can serve several variants of a
// conversion side by side).
func Servers(routes map[string]caddyhttp.RouteList, storageDir string) []byte {
	servers := map[string]any{}
	i := 0
	for listen, rs := range routes {
		name := "ingress_server"
		if i > 0 {
			name = fmt.Sprintf("ingress_server_%d", i)
		}
		i++
		servers[name] = map[string]any{
			"listen":          []string{listen},
			"automatic_https": map[string]any{"disable": true},
			"routes":          rs,
		}
	}
	return mustJSON(map[string]any{
		"admin":   map[string]any{"disabled": true},
		"storage": map[string]any{"module": "file_system", "root": storageDir},
		"logging": map[string]any{"logs": map[string]any{"default": map[string]any{"level": "WARN"}}},
		"apps":    map[string]any{"http": map[string]any{"servers": servers}},
	})
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
