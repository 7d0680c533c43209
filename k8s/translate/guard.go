package translate

import (
	"bytes"
	"encoding/json"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// Guard makes step-up independent of route order. It takes the server's
// routes as the controller finished them (built per Ingress path by Apply,
// then possibly sorted) and returns them with every step-up handler, and
// every 503 of a closed Ingress, moved out of its route into a guard route
// placed ahead of all routes.
//
// Why: the controller emits one route per Ingress path, in the order the
// Ingresses reached it (or sorted by path, with its experimentalSmartSort),
// and Caddy runs only the first matching route's terminal chain. Another
// Ingress's route for the same host that comes first, a catch-all `/` for
// instance, would otherwise serve an annotated path without step-up.
//
// A guard route matches exactly what the routes it came from matched (the
// union of their matcher sets: host, path, protocol, and the handler's
// endpoints), holds only that one handler, and is not terminal: a request
// that passes the step-up goes on to whichever route serves it. Routes with
// the same handler (the paths of one Ingress) share one guard, so a request
// meets each Ingress's step-up once; a request matching the paths of two
// annotated Ingresses meets both. Routes without our handlers are untouched.
func Guard(routes caddyhttp.RouteList) caddyhttp.RouteList {
	type guard struct {
		handler json.RawMessage
		sets    caddyhttp.RawMatcherSets
		seen    map[string]bool
	}
	var guards []*guard
	byHandler := map[string]*guard{}
	out := make(caddyhttp.RouteList, 0, len(routes))
	for _, r := range routes {
		kept := make([]json.RawMessage, 0, len(r.HandlersRaw))
		for _, h := range r.HandlersRaw {
			if !isOurs(h) {
				kept = append(kept, h)
				continue
			}
			g := byHandler[string(h)]
			if g == nil {
				g = &guard{handler: h, seen: map[string]bool{}}
				byHandler[string(h)] = g
				guards = append(guards, g)
			}
			sets := r.MatcherSetsRaw
			if len(sets) == 0 {
				// A route without matchers matches every request.
				sets = caddyhttp.RawMatcherSets{caddy.ModuleMap{}}
			}
			for _, set := range sets {
				key := string(mustJSON(set)) // map keys marshal sorted
				if !g.seen[key] {
					g.seen[key] = true
					g.sets = append(g.sets, set)
				}
			}
		}
		r.HandlersRaw = kept
		out = append(out, r)
	}
	head := make(caddyhttp.RouteList, 0, len(guards)+len(out))
	for _, g := range guards {
		head = append(head, caddyhttp.Route{
			MatcherSetsRaw: g.sets,
			HandlersRaw:    []json.RawMessage{g.handler},
		})
	}
	return append(head, out...)
}

// isOurs reports whether h is a handler Apply inserted: the stepup handler
// or the 503 that closes an Ingress with a bad annotation.
func isOurs(h json.RawMessage) bool {
	if bytes.Equal(h, closedHandler) || bytes.HasPrefix(h, stepupModulePrefix) {
		return true // what Apply writes, without decoding it
	}
	if !bytes.Contains(h, []byte(`"stepup"`)) {
		return false // no handler named stepup can be in it
	}
	var probe struct {
		Handler string `json:"handler"`
	}
	return json.Unmarshal(h, &probe) == nil && probe.Handler == "stepup"
}
