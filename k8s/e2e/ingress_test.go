package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/caddy-stepup/caddy-stepup/internal/rogueop"
	"github.com/caddy-stepup/caddy-stepup/k8s/internal/controllersim"
	"github.com/caddy-stepup/caddy-stepup/k8s/translate"
)

const (
	testNS       = "e2e"
	clientID     = "caddy-ingress"
	clientSecret = "e2e-client-secret"
	ann          = translate.Prefix
)

// The Ingresses the tests create through the API server. All serve plain
// HTTP (the controller's disable-ssl-redirect annotation) on loopback names,
// which the stepup handler's insecure_loopback_http accepts.
func testIngresses() []*networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	path := func(p, svc string) networkingv1.HTTPIngressPath {
		return networkingv1.HTTPIngressPath{Path: p, PathType: &prefix, Backend: networkingv1.IngressBackend{
			Service: &networkingv1.IngressServiceBackend{Name: svc, Port: networkingv1.ServiceBackendPort{Number: 80}},
		}}
	}
	ing := func(name, host string, annotations map[string]string, paths ...networkingv1.HTTPIngressPath) *networkingv1.Ingress {
		annotations[controllersim.DisableSSLRedirect] = "true"
		class := "caddy-stepup"
		return &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNS, Annotations: annotations},
			Spec: networkingv1.IngressSpec{IngressClassName: &class, Rules: []networkingv1.IngressRule{{
				Host:             host,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: paths}},
			}}},
		}
	}
	return []*networkingv1.Ingress{
		// Step-up for /admin/* only; /catalog is routed by the same Ingress
		// but not annotated. Neither path covers the handler's endpoints.
		ing("shop", "localhost", map[string]string{
			ann + "paths": "/admin/*", ann + "acr": "mfa", ann + "max-age": "5m",
		}, path("/admin", "web"), path("/catalog", "web")),
		// No step-up annotations at all.
		ing("open", "open.localhost", map[string]string{}, path("/public", "open")),
		// A bad annotation: max-age without a unit.
		ing("broken", "broken.localhost", map[string]string{ann + "max-age": "300"}, path("/", "web")),
	}
}

var (
	ingressesCreated sync.Once
	ingressesErr     error
)

// createIngresses creates the test namespace and Ingresses once.
func createIngresses(t *testing.T) {
	t.Helper()
	ingressesCreated.Do(func() {
		ctx := t.Context()
		_, ingressesErr = cp.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testNS}}, metav1.CreateOptions{})
		for _, ing := range testIngresses() {
			if ingressesErr != nil {
				return
			}
			_, ingressesErr = cp.client.NetworkingV1().Ingresses(testNS).Create(ctx, ing, metav1.CreateOptions{FieldValidation: "Strict"})
		}
	})
	if ingressesErr != nil {
		t.Fatal(ingressesErr)
	}
}

// readIngresses lists the test Ingresses back from the API server, by name.
func readIngresses(t *testing.T) []*networkingv1.Ingress {
	t.Helper()
	list, err := cp.client.NetworkingV1().Ingresses(testNS).List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []*networkingv1.Ingress
	for i := range list.Items {
		out = append(out, &list.Items[i])
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if len(out) != len(testIngresses()) {
		t.Fatalf("read back %d Ingresses, want %d", len(out), len(testIngresses()))
	}
	return out
}

// upstreams are the backend Services: each answers with its name and the
// identity header the step-up handler sets.
func startUpstreams(t *testing.T) controllersim.Upstream {
	addrs := map[string]string{}
	for _, name := range []string{"web", "open"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "upstream=%s user=%s", name, r.Header.Get("X-Auth-User"))
		}))
		t.Cleanup(srv.Close)
		addrs[name] = strings.TrimPrefix(srv.URL, "http://")
	}
	return func(_ *networkingv1.Ingress, b networkingv1.IngressBackend) string { return addrs[b.Service.Name] }
}

// controllerConfig is the step-up config as the controller would load it:
// the file from its ConfigMap, issuer and client id from its environment.
func controllerConfig(t *testing.T, issuer string) *translate.Config {
	t.Helper()
	doc := `
provider:
  scopes: [profile]
upstream_headers:
  X-Auth-User: "{http.auth.user.id}"
insecure_loopback_http: true
`
	env := map[string]string{translate.EnvIssuer: issuer, translate.EnvClientID: clientID}
	cfg, err := translate.ParseConfig([]byte(doc), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

type fixture struct {
	op        *rogueop.Provider
	a, b      *caddyProc // two replicas sharing one storage
	c         *caddyProc // a third with storage of its own
	diags     []translate.Diagnostic
	ingresses []*networkingv1.Ingress
}

// serve translates the Ingresses read back from the API server and serves
// the result with three Caddy processes.
func serve(t *testing.T) *fixture {
	t.Helper()
	createIngresses(t)
	f := &fixture{op: startOP(t, clientID, clientSecret), ingresses: readIngresses(t)}
	routes, diags := controllersim.Routes(translate.New(controllerConfig(t, f.op.Issuer())), f.ingresses, startUpstreams(t))
	f.diags = diags
	shared := t.TempDir()
	env := "STEPUP_CLIENT_SECRET=" + clientSecret
	for _, c := range []struct {
		name    string
		dst     **caddyProc
		storage string
	}{{"a", &f.a, shared}, {"b", &f.b, shared}, {"c", &f.c, t.TempDir()}} {
		addr := loopbackAddr()
		*c.dst = startCaddy(t, c.name, addr, controllersim.Config(routes, addr, c.storage), env)
	}
	return f
}

type response struct {
	status int
	header http.Header
	body   string
}

// request sends one request to p with the given Host, never following
// redirects and keeping no cookies of its own.
func request(t *testing.T, p *caddyProc, method, host, target string, header http.Header) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, "http://"+p.addr+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for k, v := range header {
		req.Header[k] = v
	}
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

var (
	api     = http.Header{"Accept": {"application/json"}}
	browser = http.Header{"Accept": {"text/html"}, "Sec-Fetch-Mode": {"navigate"}}
)

func TestIngressesReadFromTheAPIServerStepUpExactlyTheAnnotatedPaths(t *testing.T) {
	f := serve(t)
	for _, replica := range []struct {
		name string
		p    *caddyProc
	}{{"replica A", f.a}, {"replica B", f.b}} {
		p := replica.p
		t.Run(replica.name+": an API request to an annotated path gets the RFC 9470 challenge", func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				r := request(t, p, method, "localhost", "/admin/users", api)
				if r.status != http.StatusUnauthorized {
					t.Fatalf("%s /admin/users: %d %s, want 401", method, r.status, r.body)
				}
				got := r.header.Get("WWW-Authenticate")
				for _, want := range []string{`Bearer error="insufficient_user_authentication"`, `acr_values="mfa"`, "max_age=300"} {
					if !strings.Contains(got, want) {
						t.Errorf("WWW-Authenticate %q lacks %s", got, want)
					}
				}
			}
		})
		t.Run(replica.name+": a path of the same Ingress that is not annotated reaches the upstream", func(t *testing.T) {
			r := request(t, p, http.MethodGet, "localhost", "/catalog/shoes", api)
			if r.status != http.StatusOK || r.body != "upstream=web user=" {
				t.Fatalf("GET /catalog/shoes: %d %q, want 200 from web", r.status, r.body)
			}
		})
		t.Run(replica.name+": the Ingress path itself outside the annotated pattern reaches the upstream", func(t *testing.T) {
			// /admin is routed by the Ingress (Prefix /admin) but the
			// annotation says /admin/*, which does not match /admin.
			r := request(t, p, http.MethodGet, "localhost", "/admin", api)
			if r.status != http.StatusOK {
				t.Fatalf("GET /admin: %d %q, want 200", r.status, r.body)
			}
		})
		t.Run(replica.name+": an Ingress without step-up annotations reaches its upstream", func(t *testing.T) {
			r := request(t, p, http.MethodGet, "open.localhost", "/public/x", api)
			if r.status != http.StatusOK || r.body != "upstream=open user=" {
				t.Fatalf("GET open.localhost/public/x: %d %q, want 200 from open", r.status, r.body)
			}
		})
		t.Run(replica.name+": an Ingress with a bad annotation is closed with a 503", func(t *testing.T) {
			r := request(t, p, http.MethodGet, "broken.localhost", "/anything", api)
			if r.status != http.StatusServiceUnavailable || r.body != translate.ClosedBody {
				t.Fatalf("GET broken.localhost/anything: %d %q, want 503 with the closed body", r.status, r.body)
			}
		})
		t.Run(replica.name+": a client-supplied identity header does not reach the upstream", func(t *testing.T) {
			r := request(t, p, http.MethodGet, "localhost", "/catalog/x", http.Header{"X-Auth-User": {"mallory"}})
			if r.status != http.StatusOK || strings.Contains(r.body, "mallory") {
				t.Fatalf("GET /catalog/x with X-Auth-User: %d %q; the forged header must be stripped", r.status, r.body)
			}
		})
	}
	t.Run("only the bad annotation is reported, naming namespace/name and key", func(t *testing.T) {
		if len(f.diags) != 1 {
			t.Fatalf("diagnostics = %v, want exactly one", f.diags)
		}
		d := f.diags[0]
		s := d.String()
		if d.Namespace != testNS || d.Name != "broken" || d.Key != ann+"max-age" ||
			!strings.Contains(s, "ingress e2e/broken") || !strings.Contains(s, ann+"max-age") {
			t.Errorf("diagnostic %q does not name e2e/broken and %smax-age", s, ann)
		}
	})
}
