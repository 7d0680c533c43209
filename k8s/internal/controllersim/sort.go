package controllersim

import (
	"encoding/json"
	"sort"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// SmartSort orders routes as the controller does when its ConfigMap sets
// experimentalSmartSort: "true" (internal/caddy/global/ingress_sort.go
// L37-55). It looks only at the first pattern of the first matcher set's
// path matcher, whatever the host:
//
//   - patterns not ending in "*" (exact ones, and the first pattern of a
//     Prefix path, "/admin" of ["/admin", "/admin/*"]) come first,
//   - then patterns ending in "*" (Prefix "/" becomes "/*"),
//   - then routes without a path matcher;
//   - within each group, longer patterns first; ties keep their order
//     (a stable sort).
//
// The controller writes this as a pairwise comparison; that comparison is a
// strict weak order equal to this sort key (group, then length descending),
// and a stable sort's result is fully determined by the order, so both give
// the same route list.
func SmartSort(routes caddyhttp.RouteList) {
	keys := make([]sortKey, len(routes))
	for i, r := range routes {
		p := firstPath(r)
		keys[i] = sortKey{group: 0, length: len(p)}
		switch {
		case p == "":
			keys[i].group = 2
		case strings.HasSuffix(p, "*"):
			keys[i].group = 1
		}
	}
	sort.Stable(byKey{routes, keys})
}

type sortKey struct{ group, length int }

type byKey struct {
	routes caddyhttp.RouteList
	keys   []sortKey
}

func (b byKey) Len() int { return len(b.routes) }
func (b byKey) Less(i, j int) bool {
	if b.keys[i].group != b.keys[j].group {
		return b.keys[i].group < b.keys[j].group
	}
	return b.keys[i].length > b.keys[j].length
}
func (b byKey) Swap(i, j int) {
	b.routes[i], b.routes[j] = b.routes[j], b.routes[i]
	b.keys[i], b.keys[j] = b.keys[j], b.keys[i]
}

// firstPath is the first pattern of the route's first matcher set's path
// matcher, or "" when there is none.
func firstPath(r caddyhttp.Route) string {
	if len(r.MatcherSetsRaw) == 0 {
		return ""
	}
	var paths []string
	if err := json.Unmarshal(r.MatcherSetsRaw[0]["path"], &paths); err != nil || len(paths) == 0 {
		return ""
	}
	return paths[0]
}
