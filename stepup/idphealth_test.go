package stepup

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/caddy-stepup/caddy-stepup/stepup/provider"
)

// flakyIdP serves a discovery document while up and 503 while down, and
// counts the requests it gets.
type flakyIdP struct {
	srv  *httptest.Server
	down atomic.Bool
	hits atomic.Int32
}

func startFlakyIdP(t *testing.T) *flakyIdP {
	f := &flakyIdP{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.hits.Add(1)
		if f.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": f.srv.URL, "authorization_endpoint": f.srv.URL + "/authorize",
			"token_endpoint": f.srv.URL + "/token", "jwks_uri": f.srv.URL + "/jwks",
		})
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// An IdP that dies after discovery was cached: a login is answered 503 with
// Retry-After, not a redirect to the dead IdP; the IdP is probed at most
// once per interval while up and once per backoff step while down, never
// once per request; it is used again once it answers (issue 13, item 2).
func TestLoginsGet503WhenTheIdPDiesAfterDiscovery(t *testing.T) {
	idp := startFlakyIdP(t)
	th := newTestHandler(t, idp.srv.URL, nil)
	login := func() int {
		return th.serve(t, request("GET", "http://127.0.0.1/admin", "Accept", "text/html")).rec.Code
	}
	if code := login(); code != http.StatusFound || idp.hits.Load() != 1 {
		t.Fatalf("first login: %d after %d IdP requests, want a redirect after discovery", code, idp.hits.Load())
	}
	th.clock.Add(provider.DefaultHealthCheckInterval / 2)
	if code := login(); code != http.StatusFound || idp.hits.Load() != 1 {
		t.Fatalf("a login within the health interval: %d after %d IdP requests, want a redirect and no probe", code, idp.hits.Load())
	}

	idp.down.Store(true)
	th.clock.Add(provider.DefaultHealthCheckInterval)
	out := th.serve(t, request("GET", "http://127.0.0.1/admin", "Accept", "text/html"))
	if out.rec.Code != http.StatusServiceUnavailable || out.rec.Header().Get("Retry-After") == "" || idp.hits.Load() != 2 {
		t.Fatalf("a login after the IdP died: %d (Retry-After %q) after %d IdP requests, want 503 after one probe",
			out.rec.Code, out.rec.Header().Get("Retry-After"), idp.hits.Load())
	}
	for range 20 {
		if code := login(); code != http.StatusServiceUnavailable {
			t.Fatalf("a login while the IdP is down: %d", code)
		}
	}
	if n := idp.hits.Load(); n != 2 {
		t.Fatalf("20 logins while down made %d more IdP requests, want none before the backoff ends", n-2)
	}

	idp.down.Store(false)
	th.clock.Add(provider.MaxBackoff)
	if code := login(); code != http.StatusFound || idp.hits.Load() != 3 {
		t.Fatalf("a login after the IdP came back: %d after %d IdP requests, want a redirect after one probe", code, idp.hits.Load())
	}
}

// A failed call to the token endpoint marks the IdP down at once: the next
// login does not wait for the health interval.
func TestAFailedBackChannelCallMarksTheIdPDown(t *testing.T) {
	idp := startFlakyIdP(t)
	th := newTestHandler(t, idp.srv.URL, nil)
	if code := th.serve(t, request("GET", "http://127.0.0.1/admin", "Accept", "text/html")).rec.Code; code != http.StatusFound {
		t.Fatalf("first login: %d", code)
	}
	idp.down.Store(true)
	if _, err := th.idp.Exchange(context.Background(), "code", "verifier", "http://127.0.0.1/.stepup/callback", ""); err == nil {
		t.Fatal("the token endpoint of a down IdP redeemed a code")
	}
	hits := idp.hits.Load()
	if code := th.serve(t, request("GET", "http://127.0.0.1/admin", "Accept", "text/html")).rec.Code; code != http.StatusServiceUnavailable {
		t.Fatalf("a login right after the token endpoint failed: %d, want 503", code)
	}
	if idp.hits.Load() != hits {
		t.Fatal("the login probed although a call had just shown the IdP down")
	}
}
