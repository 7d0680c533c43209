package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/caddy-stepup/caddy-stepup/k8s/internal/controllersim"
	"github.com/caddy-stepup/caddy-stepup/k8s/internal/secretstore"
	"github.com/caddy-stepup/caddy-stepup/k8s/translate"
)

// TestTwoCaddysOnTheControllersSecretStorageShareSessionAndAssertionKeys
// runs two Caddy replicas whose storage is the model of the controller's
// secret_store (Secrets and Leases in the controller's namespace, as its
// service account), as the controller configures it, plus a third with a
// storage of its own. Both replicas start cold at once; a session made
// through A is accepted by B; a key A rotates in is used by A and accepted
// by B; both publish and sign with the same assertion keys.
func TestTwoCaddysOnTheControllersSecretStorageShareSessionAndAssertionKeys(t *testing.T) {
	client := controllerClient(t)
	kubeconfig := controllerKubeconfig(t)
	ctx := t.Context()
	for _, key := range []string{cookieKeysKey, assertionKeysKey} {
		_ = secretstore.New(client, controllerNS, "").Delete(ctx, key) // a clean start
	}

	op := startOP(t, clientID, clientSecret)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "user=%s assertion=%s", r.Header.Get("X-Auth-User"), r.Header.Get("Stepup-Assertion"))
	}))
	t.Cleanup(upstream.Close)
	env := map[string]string{translate.EnvIssuer: op.Issuer(), translate.EnvClientID: clientID}
	cfg, err := translate.ParseConfig([]byte(`
upstream_headers: {X-Auth-User: "{http.auth.user.id}"}
session: {key_rotation: 1m}
insecure_loopback_http: true
`), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	shop := testIngresses()[0]
	routes, diags := controllersim.Routes(translate.New(cfg), []*networkingv1.Ingress{shop}, func(*networkingv1.Ingress, networkingv1.IngressBackend) string {
		return strings.TrimPrefix(upstream.URL, "http://")
	})
	if len(diags) != 0 {
		t.Fatal(diags)
	}
	withAssertion(t, routes)

	holder := secretstore.New(client, controllerNS, "test-holder")
	lockCtx, stopRenewing := context.WithCancel(ctx)
	defer stopRenewing()
	if err := holder.Lock(lockCtx, cookieKeysKey); err != nil {
		t.Fatal(err)
	}
	secret := "STEPUP_CLIENT_SECRET=" + clientSecret
	replica := func(name string, storage any) *caddyProc {
		addr := loopbackAddr()
		config := withStorage(t, controllersim.Config(routes, addr, ""), storage)
		return startCaddyBin(t, caddySecretStoreBin, name, addr, config, secret, "KUBECONFIG="+kubeconfig)
	}
	// The storage block the controller writes (internal/caddy/global/
	// secrets_store.go): its namespace and the replica's -lease-id.
	a := replica("a", map[string]any{"module": "secret_store", "namespace": controllerNS, "leaseId": "replica-a"})
	b := replica("b", map[string]any{"module": "secret_store", "namespace": controllerNS, "leaseId": "replica-b"})
	c := replica("c", map[string]any{"module": "file_system", "root": t.TempDir()})

	// login sends a browser to the protected path at entry, logs alice in
	// at the OP and completes the callback at callbackAt; it returns the
	// session cookie.
	login := func(t *testing.T, start response, callbackAt *caddyProc) string {
		t.Helper()
		if start.status != http.StatusFound {
			t.Fatalf("navigation to /admin/users: %d %q, want 302 to the OP", start.status, start.body)
		}
		loc, err := url.Parse(start.header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		q := loc.Query()
		code := login(t, loc)
		callback, _, _ := translate.Endpoints(testNS, "shop")
		cb := callback + "?" + url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
		r := request(t, callbackAt, http.MethodGet, "localhost", cb, http.Header{"Cookie": {allCookies(start.header, "stepup_flow_")}})
		session := cookiesNamed(r.header, "stepup")
		if r.status != http.StatusSeeOther || session == "" {
			t.Fatalf("callback: %d %q, want 303 with a session cookie", r.status, r.body)
		}
		return session
	}
	get := func(p *caddyProc, session string) response {
		return request(t, p, http.MethodGet, "localhost", "/admin/users", http.Header{"Cookie": {session}, "Accept": {"application/json"}})
	}

	// Both replicas load the cookie keys when they start (in the
	// background) and find none, while the test, a third holder on the same
	// storage, holds the keys' Lease and then stores a key: each replica
	// must wait for the Lease, re-read, and use that key rather than create
	// its own. Their first requests wait for that load. Without the lock
	// each would store a key of its own at once.
	time.Sleep(time.Second) // both have read the empty storage at start; margin
	var starts [2]response
	var wg sync.WaitGroup
	for i, p := range []*caddyProc{a, b} {
		wg.Go(func() { starts[i] = request(t, p, http.MethodGet, "localhost", "/admin/users", browser) })
	}
	k1 := storeCookieKey(t, holder)
	if err := holder.Unlock(ctx, cookieKeysKey); err != nil {
		t.Fatalf("the test's Lease is gone while it held it (a replica unlocked without holding it): %v", err)
	}
	wg.Wait()
	for i, name := range []string{"A", "B"} {
		if starts[i].status != http.StatusFound {
			t.Fatalf("first navigation at %s: %d %q, want 302", name, starts[i].status, starts[i].body)
		}
		if id := sealedKeyID(t, flowCookie(t, starts[i].header)); id != k1.ID {
			t.Errorf("%s sealed its flow cookie with key %d, want %d, the key stored while it waited for the lock", name, id, k1.ID)
		}
	}
	if keys := readCookieKeys(t).Keys; len(keys) != 1 || keys[0].ID != k1.ID {
		t.Fatalf("cookie keys in storage %+v, want only the one stored under the lock", keys)
	}
	if _, err := client.CoordinationV1().Leases(controllerNS).Get(ctx, secretstore.LeaseName(cookieKeysKey), metav1.GetOptions{}); err == nil {
		t.Error("the cookie keys' Lease is still there after both replicas loaded the keys: Unlock must delete it")
	}

	var s1 string
	t.Run("a session made through A's flow and B's callback is accepted by both, not by a Caddy with other storage", func(t *testing.T) {
		s1 = login(t, starts[0], b)
		if id := sealedKeyID(t, s1); id != k1.ID {
			t.Fatalf("session sealed with key %d, want the stored key %d", id, k1.ID)
		}
		for name, p := range map[string]*caddyProc{"A": a, "B": b} {
			if r := get(p, s1); r.status != http.StatusOK || !strings.HasPrefix(r.body, "user=alice ") {
				t.Errorf("replica %s: %d %q, want 200 for alice", name, r.status, r.body)
			}
		}
		if r := get(c, s1); r.status != http.StatusUnauthorized {
			t.Errorf("a Caddy with its own storage: %d %q, want 401", r.status, r.body)
		}
	})
	if s1 == "" {
		t.FailNow()
	}

	t.Run("both replicas sign with the same assertion keys and publish the same JWKS", func(t *testing.T) {
		jwks := map[string]string{}
		for name, p := range map[string]*caddyProc{"A": a, "B": b} {
			r := get(p, s1)
			_, jwt, _ := strings.Cut(r.body, "assertion=")
			head, _, ok := strings.Cut(jwt, ".")
			var h struct {
				Kid string `json:"kid"`
			}
			raw, err := base64.RawURLEncoding.DecodeString(head)
			if !ok || err != nil || json.Unmarshal(raw, &h) != nil || h.Kid == "" {
				t.Fatalf("replica %s sent no assertion with a kid: %q", name, r.body)
			}
			pub := request(t, p, http.MethodGet, "localhost", sharedJWKSPath, nil)
			if pub.status != http.StatusOK || !strings.Contains(pub.body, `"kid":"`+h.Kid+`"`) {
				t.Fatalf("replica %s's JWKS %d %q lacks its signing key %s", name, pub.status, pub.body, h.Kid)
			}
			jwks[name] = pub.body
		}
		if jwks["A"] != jwks["B"] {
			t.Errorf("the replicas publish different keys:\nA %s\nB %s", jwks["A"], jwks["B"])
		}
		if _, err := client.CoreV1().Secrets(controllerNS).Get(ctx, secretstore.SecretName(assertionKeysKey), metav1.GetOptions{}); err != nil {
			t.Errorf("the assertion keys are not in their Secret: %v", err)
		}
	})

	t.Run("a key A rotates in seals A's new sessions and B accepts them", func(t *testing.T) {
		// key_rotation is 1m, the plugin's minimum: wait until k1 is due.
		time.Sleep(time.Until(k1.Created.Add(time.Minute + time.Second)))
		// A seals a flow cookie with its current key set, sees it due and
		// rotates in the background. (A request with s1 would not do: the
		// opened session is cached and touches no key.)
		if r := request(t, a, http.MethodGet, "localhost", "/admin/users", browser); r.status != http.StatusFound {
			t.Fatalf("navigation at A: %d %q", r.status, r.body)
		}
		var k2 uint32
		waitUntil(t, time.Minute, "A stores a second cookie key", func() bool {
			keys := readCookieKeys(t).Keys
			if len(keys) == 2 && keys[0].ID == k1.ID {
				k2 = keys[1].ID
			}
			return k2 != 0
		})
		s2 := login(t, request(t, a, http.MethodGet, "localhost", "/admin/users", browser), a)
		if id := sealedKeyID(t, s2); id != k2 {
			t.Fatalf("A's new session sealed with key %d, want the rotated-in key %d", id, k2)
		}
		for name, s := range map[string]string{"the new session": s2, "the old session": s1} {
			if r := get(b, s); r.status != http.StatusOK || !strings.HasPrefix(r.body, "user=alice ") {
				t.Errorf("B with %s: %d %q, want 200 for alice", name, r.status, r.body)
			}
		}
		if n := len(readCookieKeys(t).Keys); n != 2 {
			t.Errorf("%d cookie keys after B caught up, want 2: B must not rotate again", n)
		}
	})
}
