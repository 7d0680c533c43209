package integration

// The signed step-up assertion (issue 17), through a real Caddy: upstreams
// built on the verify module and on Node's jose accept what Caddy signed and
// refuse forgeries, tampering, other audiences, expired assertions, replays
// on another route and unknown keys; replicas sharing storage sign with the
// same, rotating keys.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/caddyproc"
	"github.com/caddy-stepup/caddy-stepup/internal/rogueop"
	"github.com/caddy-stepup/caddy-stepup/verify"
)

const (
	assertionAudience = "https://backend.stepup.test"
	assertionJWKSPath = "/.well-known/stepup-jwks.json"
)

// verifiedBackend is an upstream protected by verify.Middleware. Its
// verifier is set once Caddy runs (the JWKS URL needs Caddy's port); it
// remembers the last assertion it received, valid or not.
type verifiedBackend struct {
	*httptest.Server
	handler atomic.Pointer[http.Handler]
	mu      sync.Mutex
	last    string
}

func startVerifiedBackend(t *testing.T) *verifiedBackend {
	b := &verifiedBackend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.mu.Lock()
		b.last = r.Header.Get(verify.DefaultHeader)
		b.mu.Unlock()
		h := b.handler.Load()
		if h == nil {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		(*h).ServeHTTP(w, r)
	}))
	t.Cleanup(b.Close)
	return b
}

// protect installs v in front of an answer with the verified claims.
func (b *verifiedBackend) protect(v *verify.Verifier) {
	var h http.Handler = v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verify.FromContext(r.Context())
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(c)
	}))
	b.handler.Store(&h)
}

func (b *verifiedBackend) lastAssertion() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last
}

// assertionCaddy runs a stepup site in front of upstream with assertions on.
func assertionCaddy(t *testing.T, op *rogueop.Provider, upstream, assertionExtra, storageDir string) *caddyproc.Caddy {
	t.Helper()
	extra := fmt.Sprintf("assertion {\n\t\t\taudience %s\n\t\t\t%s\n\t\t}", assertionAudience, assertionExtra)
	return caddyproc.Start(t, caddyproc.Options{
		Site:       siteConfig(op.Issuer(), upstream, extra),
		StorageDir: storageDir,
		Env:        []string{"STEPUP_TEST_SECRET=" + edgeSecret},
	})
}

// newVerifier checks assertions of c's site, fetching c's JWKS.
func newVerifier(t *testing.T, c *caddyproc.Caddy, audience string, now func() time.Time) *verify.Verifier {
	t.Helper()
	v, err := verify.New(verify.Options{
		JWKSURL: c.URL() + assertionJWKSPath, Issuer: c.URL(), Audience: audience,
		Client: c.Client(), Now: now, MinRefresh: time.Nanosecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// withKid re-encodes token's protected header with another key id.
func withKid(t *testing.T, token, kid string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	h["kid"] = kid
	raw, _ = json.Marshal(h)
	parts[0] = base64.RawURLEncoding.EncodeToString(raw)
	return strings.Join(parts, ".")
}

// direct sends a request straight to the backend, as anything that can
// reach it without passing Caddy could.
func direct(t *testing.T, method, url string, headers ...string) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestUpstreamVerifiesCaddysAssertionAndRefusesEverythingElse(t *testing.T) {
	op := rogueop.Start(t, rogueop.Options{ClientID: edgeClientID, ClientSecret: edgeSecret})
	backend := startVerifiedBackend(t)
	c := assertionCaddy(t, op, backend.URL, "", "")
	// The backend knows the site by its public origin; htu names it.
	backend.protect(newVerifier(t, c, assertionAudience, nil))
	e := &rogueEnv{op: op, caddy: c}
	b := c.Client()
	e.loginAs(t, b, "/admin", "alice", acrMFA)

	resp, body := api(t, b, "POST", c.URL()+"/admin/users")
	var claims verify.Claims
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &claims) != nil {
		t.Fatalf("through Caddy: %d %s", resp.StatusCode, truncate(body))
	}
	if claims.Subject != "alice" || claims.ACR != acrMFA || claims.Rule != "admin" || claims.Method != "POST" || claims.URL != c.URL()+"/admin/users" || claims.AuthTime == 0 {
		t.Fatalf("claims: %+v", claims)
	}
	token := backend.lastAssertion()

	// Reached directly, the backend trusts no header.
	if code := direct(t, "POST", backend.URL+"/admin/users", "X-User", "alice", "X-Acr", acrMFA); code != http.StatusUnauthorized {
		t.Fatalf("forged identity headers, no assertion: %d", code)
	}
	if code := direct(t, "POST", backend.URL+"/admin/other", verify.DefaultHeader, token); code != http.StatusUnauthorized {
		t.Fatalf("captured assertion replayed on another path: %d", code)
	}
	if code := direct(t, "DELETE", backend.URL+"/admin/users", verify.DefaultHeader, token); code != http.StatusUnauthorized {
		t.Fatalf("captured assertion replayed with another method: %d", code)
	}

	ctx := context.Background()
	target := c.URL() + "/admin/users"
	for name, tc := range map[string]struct {
		v     *verify.Verifier
		token string
		want  error
	}{
		"tampered signature": {newVerifier(t, c, assertionAudience, nil), tamperSignature(token), verify.ErrSignature},
		"tampered claims":    {newVerifier(t, c, assertionAudience, nil), strings.Replace(token, ".", ".e30", 1), verify.ErrSignature},
		"wrong audience":     {newVerifier(t, c, "https://other.stepup.test", nil), token, verify.ErrClaims},
		"expired":            {newVerifier(t, c, assertionAudience, func() time.Time { return time.Now().Add(2 * time.Minute) }), token, verify.ErrClaims},
		"unknown key id":     {newVerifier(t, c, assertionAudience, nil), withKid(t, token, "not-a-published-key"), verify.ErrUnknownKey},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := tc.v.Verify(ctx, tc.token, "POST", target); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	// The same assertion, untouched, still verifies: the refusals above are
	// the verifier's, not a broken token.
	if _, err := newVerifier(t, c, assertionAudience, nil).Verify(ctx, token, "POST", target); err != nil {
		t.Fatalf("the captured assertion itself: %v", err)
	}
}

func TestJWKSIsServedWithCachingHeaders(t *testing.T) {
	op := rogueop.Start(t, rogueop.Options{ClientID: edgeClientID, ClientSecret: edgeSecret})
	c := assertionCaddy(t, op, startUpstream(t).URL, "", "")
	resp, body := api(t, c.Client(), "GET", c.URL()+assertionJWKSPath)
	var set struct {
		Keys []map[string]string `json:"keys"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &set) != nil || len(set.Keys) != 1 {
		t.Fatalf("JWKS: %d %s", resp.StatusCode, truncate(body))
	}
	if k := set.Keys[0]; k["kty"] != "EC" || k["crv"] != "P-256" || k["alg"] != "ES256" || k["kid"] == "" || k["d"] != "" {
		t.Fatalf("published key: %v", k)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=300" || resp.Header.Get("Content-Type") != "application/jwk-set+json" {
		t.Fatalf("headers: %v", resp.Header)
	}
}

// kidOf is the key id in token's header.
func kidOf(t *testing.T, token string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	_ = json.Unmarshal(raw, &h)
	return h.Kid
}

func TestReplicasSharingStorageRotateAssertionKeysAndKeepInFlightAssertionsValid(t *testing.T) {
	op := rogueop.Start(t, rogueop.Options{ClientID: edgeClientID, ClientSecret: edgeSecret})
	backend := startVerifiedBackend(t)
	// A new key every 10s, published 2.5s before it signs; assertions live
	// a minute, so a retired key stays published well past the test.
	const tuning = "key_rotation 10s\n\t\t\tlifetime 1m"
	first := assertionCaddy(t, op, backend.URL, tuning, "")
	second := assertionCaddy(t, op, backend.URL, tuning, first.StorageDir())
	// Each replica is its own site origin (its port); the backend accepts
	// the first's. The verifier below fetches the keys from the second.
	backend.protect(newVerifier(t, first, assertionAudience, nil))
	e := &rogueEnv{op: op, caddy: first}
	b := first.Client()
	e.loginAs(t, b, "/admin", "alice", acrMFA)

	fromSecond := func(now func() time.Time) *verify.Verifier {
		v, err := verify.New(verify.Options{
			JWKSURL: second.URL() + assertionJWKSPath, Issuer: first.URL(), Audience: assertionAudience,
			Client: second.Client(), Now: now, MinRefresh: time.Nanosecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	ctx := context.Background()
	// Distinct paths so that no assertion is reused from the cache.
	var oldToken, oldTarget string
	for i := 0; ; i++ {
		if i == 600 {
			t.Fatalf("no key rotation seen in %d requests", i)
		}
		target := fmt.Sprintf("%s/admin/r%d", first.URL(), i)
		if resp, body := api(t, b, "GET", target); resp.StatusCode != http.StatusOK {
			t.Fatalf("through the first replica: %d %s", resp.StatusCode, truncate(body))
		}
		tok := backend.lastAssertion()
		// Keys the first replica signs with are published by the second.
		if _, err := fromSecond(nil).Verify(ctx, tok, "GET", target); err != nil {
			t.Fatalf("the second replica does not publish the key of an assertion the first signed: %v", err)
		}
		if oldToken != "" && kidOf(t, tok) != kidOf(t, oldToken) {
			break // the first assertion of the new key
		}
		oldToken, oldTarget = tok, target
		time.Sleep(100 * time.Millisecond)
	}
	// The assertion signed just before the switch is still in flight: both
	// replicas' JWKS still carry its key.
	for _, v := range []*verify.Verifier{fromSecond(nil), newVerifier(t, first, assertionAudience, nil)} {
		if _, err := v.Verify(ctx, oldToken, "GET", oldTarget); err != nil {
			t.Fatalf("an in-flight assertion of the retired key was refused after the rotation: %v", err)
		}
	}
	// The second replica, given the same session (cookies ignore ports),
	// signs with the keys the first publishes.
	target := second.URL() + "/admin/from-second"
	if resp, _ := api(t, b, "GET", target); resp.StatusCode != http.StatusUnauthorized {
		// The backend accepts only the first replica's origin.
		t.Fatalf("the backend accepted an assertion for another origin: %d", resp.StatusCode)
	}
	v, err := verify.New(verify.Options{
		JWKSURL: first.URL() + assertionJWKSPath, Issuer: second.URL(), Audience: assertionAudience, Client: first.Client(),
	})
	if err != nil {
		t.Fatal(err)
	}
	if tok := backend.lastAssertion(); tok == "" {
		t.Fatal("the second replica sent no assertion")
	} else if _, err := v.Verify(ctx, tok, "GET", target); err != nil {
		t.Fatalf("the first replica does not publish the key of the second's assertion: %v", err)
	}
}
