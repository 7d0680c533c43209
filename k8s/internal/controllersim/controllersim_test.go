package controllersim

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func named(name string) *networkingv1.Ingress {
	return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("uid-" + name)}}
}

func order(s *Store) []string {
	var out []string
	for _, ing := range s.Ingresses {
		out = append(out, ing.Name)
	}
	return out
}

// The controller's store (pkg/store/store.go L28-65): arrival order, updates
// in place, and a deletion moves the last Ingress into the freed slot.
func TestStoreKeepsTheControllersOrder(t *testing.T) {
	s := &Store{}
	for _, n := range []string{"temp", "admin", "site"} {
		s.Add(named(n))
	}
	s.Add(named("admin")) // an update
	if got := order(s); !slices.Equal(got, []string{"temp", "admin", "site"}) {
		t.Fatalf("after adds and an update: %v", got)
	}
	s.Delete(named("temp"))
	if got := order(s); !slices.Equal(got, []string{"site", "admin"}) {
		t.Fatalf("after deleting temp: %v, want the last (site) moved into its slot", got)
	}
}

func pathRoute(paths ...string) caddyhttp.Route {
	set := caddy.ModuleMap{"host": json.RawMessage(`["x"]`)}
	if len(paths) > 0 {
		b, _ := json.Marshal(paths)
		set["path"] = b
	}
	return caddyhttp.Route{MatcherSetsRaw: caddyhttp.RawMatcherSets{set}}
}

// The controller's smart sort (internal/caddy/global/ingress_sort.go
// L37-55), rule by rule.
func TestSmartSortFollowsTheControllersRules(t *testing.T) {
	routes := caddyhttp.RouteList{
		pathRoute(),                     // no path: last
		pathRoute("/*"),                 // Prefix "/": after every exact-looking pattern
		pathRoute("/admin", "/admin/*"), // Prefix "/admin": judged by "/admin"
		pathRoute("/api/*"),             // ImplementationSpecific "/api/*"
		pathRoute("/admin/reports", "/admin/reports/*"), // longer: before "/admin"
		pathRoute("/login"),                             // Exact, same length as "/admin": keeps its place after it
	}
	SmartSort(routes)
	var got []string
	for _, r := range routes {
		got = append(got, firstPath(r))
	}
	want := []string{"/admin/reports", "/admin", "/login", "/api/*", "/*", ""}
	if !slices.Equal(got, want) {
		t.Errorf("sorted %q, want %q", got, want)
	}
}
