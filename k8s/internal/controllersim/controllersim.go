// Package controllersim builds, for tests, the Caddy routes and config the
// Caddy ingress controller would build for a set of Ingresses, with the
// step-up translation applied where the ingressplugin adapter applies it.
//
// It stands in for the controller, which cannot be built here: it follows
// the controller's documented route shape (one route per Ingress rule and
// path; a matcher set of host, path by pathType and, unless the Ingress
// disables the SSL redirect, protocol https; handlers ending in a reverse
// proxy to the backend Service), not its code.
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

// Route builds one path's route: matchers, then the step-up translation
// (which the adapter runs after the matchers and before the reverse proxy),
// then the reverse proxy.
func Route(t *translate.Translator, ing *networkingv1.Ingress, rule networkingv1.IngressRule, path networkingv1.HTTPIngressPath, upstream Upstream) (caddyhttp.Route, []translate.Diagnostic) {
	r := caddyhttp.Route{
		MatcherSetsRaw: caddyhttp.RawMatcherSets{Matchers(ing, rule, path)},
		HandlersRaw:    []json.RawMessage{},
	}
	diags := t.Apply(ing, &r)
	r.HandlersRaw = append(r.HandlersRaw, mustJSON(map[string]any{
		"handler":   "reverse_proxy",
		"upstreams": []map[string]string{{"dial": upstream(ing, path.Backend)}},
	}))
	return r, diags
}

// Routes builds every route of every Ingress, in the order given.
func Routes(t *translate.Translator, ings []*networkingv1.Ingress, upstream Upstream) (caddyhttp.RouteList, []translate.Diagnostic) {
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
	return routes, diags
}

// Config is a whole Caddy config serving routes on listen (plain HTTP), with
// its storage (where stepup keeps its session keys) in storageDir. The admin
// endpoint is off.
func Config(routes caddyhttp.RouteList, listen, storageDir string) []byte {
	return mustJSON(map[string]any{
		"admin":   map[string]any{"disabled": true},
		"storage": map[string]any{"module": "file_system", "root": storageDir},
		"logging": map[string]any{"logs": map[string]any{"default": map[string]any{"level": "WARN"}}},
		"apps": map[string]any{
			"http": map[string]any{
				"servers": map[string]any{
					"ingress_server": map[string]any{
						"listen":          []string{listen},
						"automatic_https": map[string]any{"disable": true},
						"routes":          routes,
					},
				},
			},
		},
	})
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
