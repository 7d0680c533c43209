package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/caddy-stepup/caddy-stepup/k8s/internal/controllersim"
)

// replica is a model controller's Ingress store fed by a real informer on the
// API server, as the controller's is (internal/k8s/ingress.go L26-55 and
// internal/controller/action_ingress.go L45-70: add and update events add,
// delete events pluck).
type replica struct {
	mu    sync.Mutex
	store controllersim.Store
}

func startReplica(t *testing.T) *replica {
	t.Helper()
	r := &replica{}
	factory := informers.NewSharedInformerFactoryWithOptions(cp.client, time.Hour, informers.WithNamespace(orderNS))
	inf := factory.Networking().V1().Ingresses().Informer()
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { r.apply(obj, r.store.Add) },
		UpdateFunc: func(_, obj any) {
			r.apply(obj, r.store.Add)
		},
		DeleteFunc: func(obj any) { r.apply(obj, r.store.Delete) },
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	go inf.Run(stop)
	if !cache.WaitForCacheSync(t.Context().Done(), inf.HasSynced) {
		t.Fatal("the Ingress informer did not sync")
	}
	return r
}

func (r *replica) apply(obj any, f func(*networkingv1.Ingress)) {
	if ing, ok := obj.(*networkingv1.Ingress); ok {
		r.mu.Lock()
		defer r.mu.Unlock()
		f(ing)
	}
}

// names returns the store's Ingress names in order.
func (r *replica) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, ing := range r.store.Ingresses {
		out = append(out, ing.Name)
	}
	return out
}

// waitFor waits until the replica's store holds exactly want (in any order):
// the informer delivers events asynchronously.
func (r *replica) waitFor(t *testing.T, want []string) []string {
	t.Helper()
	want = slices.Sorted(slices.Values(want))
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := r.names()
		if slices.Equal(slices.Sorted(slices.Values(got)), want) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("the informer's store holds %v, want %v", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (r *replica) ingresses() []*networkingv1.Ingress {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.store.Ingresses)
}

// before fails unless a comes before b in order: the precondition that makes
// a case a real route-order case in that replica.
// orderUpstreams starts the route-order cases' backends; each answers with
// its name.
func orderUpstreams(t *testing.T) controllersim.Upstream {
	addrs := map[string]string{}
	for _, name := range []string{"site", "admin", "reports"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "upstream=%s", name)
		}))
		t.Cleanup(srv.Close)
		addrs[name] = strings.TrimPrefix(srv.URL, "http://")
	}
	return func(_ *networkingv1.Ingress, b networkingv1.IngressBackend) string { return addrs[b.Service.Name] }
}

// waitListening waits until something accepts connections on addr.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s after 20s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
