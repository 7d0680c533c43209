package stepup

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"

	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// countingStorage is a file storage that counts reads of the cookie keys.
type countingStorage struct {
	*certmagic.FileStorage
	keyLoads       atomic.Int64
	assertionLoads atomic.Int64
}

func (s *countingStorage) Load(ctx context.Context, key string) ([]byte, error) {
	switch key {
	case session.KeysStorageKey:
		s.keyLoads.Add(1)
	case assertionKeysStorageKey:
		s.assertionLoads.Add(1)
	}
	return s.FileStorage.Load(ctx, key)
}

// countingDiscovery serves a discovery document and counts its fetches.
func countingDiscovery(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		hits.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": srv.URL, "authorization_endpoint": srv.URL + "/authorize",
			"token_endpoint": srv.URL + "/token", "jwks_uri": srv.URL + "/jwks",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// provisionProduction provisions n handlers as a config load does (the
// real clock, so the shared keyring), all on storage st and issuer op.
func provisionProduction(t *testing.T, n int, op string, st certmagic.Storage) ([]*Handler, context.CancelFunc) {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	hs := make([]*Handler, n)
	for i := range hs {
		hs[i] = &Handler{
			Provider:             ProviderConfig{Issuer: op, ClientID: "edge"},
			ACRLevels:            []string{"urn:pwd", "urn:otp"},
			InsecureLoopbackHTTP: true,
			Rules:                testRules(),
		}
		if err := hs[i].provision(ctx, provisionEnv{storage: st}); err != nil {
			t.Fatal(err)
		}
	}
	return hs, cancel
}

// handlersOnTwoStorages provisions a handler on each of two fresh storages
// (one issuer), and waits for both background key loads so that nothing
// is still writing when the directories go; both are cleaned up with t.
func handlersOnTwoStorages(t *testing.T) (a, b *Handler) {
	t.Helper()
	op, _ := countingDiscovery(t)
	as, cancelA := provisionProduction(t, 1, op.URL, &certmagic.FileStorage{Path: t.TempDir()})
	bs, cancelB := provisionProduction(t, 1, op.URL, &certmagic.FileStorage{Path: t.TempDir()})
	t.Cleanup(func() {
		_ = as[0].Cleanup()
		_ = bs[0].Cleanup()
		cancelB()
		cancelA()
	})
	waitForKeys(t, as[0])
	waitForKeys(t, bs[0])
	return as[0], bs[0]
}

// waitForKeys waits (without judging how long it took) for the background
// load started at Provision: sealing needs the keys, and joins that load
// rather than reading storage again.
func waitForKeys(t *testing.T, h *Handler) {
	t.Helper()
	if _, err := h.sessions.Seal(context.Background(), &session.Session{Subject: "x"}); err != nil {
		t.Fatal(err)
	}
}

// A reload of N handlers on one storage and issuer, and the first request
// to each handler, read the cookie keys from storage once and run
// discovery once in all, not once per handler (issue 19, items 2 and 3):
// the keyring is shared through a UsagePool like the provider.
func TestReloadOfManyHandlersReadsKeysAndDiscoversOnce(t *testing.T) {
	const n = 40
	op, discoveries := countingDiscovery(t)
	st := &countingStorage{FileStorage: &certmagic.FileStorage{Path: t.TempDir()}}

	firstRequests := func(hs []*Handler) {
		now := time.Now()
		s := &session.Session{Subject: "alice", ACR: "urn:pwd", AuthTime: now, Issued: now, Expires: now.Add(time.Hour)}
		cookie := "stepup=" + sealSession(t, hs[0], s)
		for i, h := range hs {
			th := &testHandler{Handler: h}
			// Needs urn:otp: the session is read, then a step-up redirect
			// needs the discovered authorization endpoint.
			out := th.serve(t, request(http.MethodGet, "/admin/x", "Cookie", cookie, "Accept", "text/html", "Sec-Fetch-Mode", "navigate"))
			if out.rec.Code != http.StatusFound {
				t.Fatalf("handler %d: status %d, want a step-up redirect", i, out.rec.Code)
			}
		}
	}

	// An existing deployment: the keys are already in storage.
	if err := session.NewKeyring(st, defaultKeyRotation, time.Now).Warm(context.Background()); err != nil {
		t.Fatal(err)
	}
	st.keyLoads.Store(0)

	old, cancelOld := provisionProduction(t, n, op.URL, st)
	waitForKeys(t, old[0])
	if got := st.keyLoads.Load(); got != 1 {
		t.Fatalf("provisioning %d handlers read the cookie keys %d times, want 1", n, got)
	}
	firstRequests(old)

	// A reload: the new config is provisioned before the old one is
	// cleaned up, as Caddy does.
	fresh, cancelFresh := provisionProduction(t, n, op.URL, st)
	defer cancelFresh()
	cancelOld()
	for _, h := range old {
		_ = h.Cleanup()
	}
	firstRequests(fresh)
	if got := st.keyLoads.Load(); got != 1 {
		t.Errorf("cookie keys read %d times over a load, a reload and %d first requests, want 1", got, 2*n)
	}
	if got := discoveries.Load(); got != 1 {
		t.Errorf("discovery ran %d times for %d handlers of one issuer, want 1", got, 2*n)
	}

	for _, h := range fresh {
		_ = h.Cleanup()
	}
	// Released with the last handler: the next config starts a keyring
	// of its own, which reads storage again.
	again, cancelAgain := provisionProduction(t, 1, op.URL, st)
	defer func() { cancelAgain(); _ = again[0].Cleanup() }()
	waitForKeys(t, again[0])
	if got := st.keyLoads.Load(); got != 2 {
		t.Errorf("cookie keys read %d times in all after the last handler went, want 2: the shared keyring outlived it", got)
	}
}

// Handlers on different storages do not share keys.
func TestHandlersOnDifferentStoragesDoNotShareAKeyring(t *testing.T) {
	a, b := handlersOnTwoStorages(t)
	now := time.Now()
	sealed, err := a.sessions.Seal(context.Background(), &session.Session{Subject: "alice", Issued: now, Expires: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	r := request(http.MethodGet, "/admin/x")
	r.Header.Set("Cookie", b.cookies.For(r).Session+"="+sealed)
	if s := b.readSession(r); s != nil {
		t.Fatal("a session sealed on one storage opened on another: the two share keys")
	}
}

// Handlers that sign assertions share the signing keys too: N handlers'
// first passed requests read them from storage once (plus the re-read
// under the lock that creates the first key), not N times.
func TestManyHandlersSigningAssertionsReadTheSigningKeysOnce(t *testing.T) {
	const n = 20
	op, _ := countingDiscovery(t)
	st := &countingStorage{FileStorage: &certmagic.FileStorage{Path: t.TempDir()}}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	hs := make([]*Handler, n)
	for i := range hs {
		hs[i] = &Handler{
			Provider:             ProviderConfig{Issuer: op.URL, ClientID: "edge"},
			ACRLevels:            []string{"urn:pwd", "urn:otp"},
			InsecureLoopbackHTTP: true,
			Rules:                testRules(),
			Assertion:            &AssertionConfig{Audience: "backend"},
		}
		if err := hs[i].provision(ctx, provisionEnv{storage: st}); err != nil {
			t.Fatal(err)
		}
		defer hs[i].Cleanup()
	}
	waitForKeys(t, hs[0])
	now := time.Now()
	cookie := "stepup=" + sealSession(t, hs[0], &session.Session{Subject: "alice", ACR: "urn:otp", AuthTime: now, Issued: now, Expires: now.Add(time.Hour)})
	for i, h := range hs {
		// Plain-HTTP cookie names hold for loopback hosts only.
		out := (&testHandler{Handler: h}).serve(t, request(http.MethodGet, "http://127.0.0.1/admin/x", "Cookie", cookie))
		if out.upstream == nil || out.upstream.Header.Get(h.asserter.header) == "" {
			reason, _ := out.repl.GetString("http.stepup.reason")
			t.Fatalf("handler %d: status %d (%s), no signed assertion upstream", i, out.rec.Code, reason)
		}
	}
	if got := st.assertionLoads.Load(); got > 2 {
		t.Errorf("%d handlers read the assertion signing keys %d times, want at most 2", n, got)
	}
}
