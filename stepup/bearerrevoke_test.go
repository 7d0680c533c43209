package stepup

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/state"
)

// A revoked subject's bearer token is refused like a session cookie would
// be; a token issued after the revocation passes.
func TestBearerTokenOfARevokedSubjectIsRefused(t *testing.T) {
	th, idp := newBearerHandler(t)
	call := func(tok string) (int, string) {
		out := th.serve(t, request("GET", "https://app.example/admin", "Authorization", "Bearer "+tok))
		return out.rec.Code, out.rec.Header().Get("WWW-Authenticate")
	}
	old := idp.token(t, "alice", "api", time.Hour)
	if code, _ := call(old); code != http.StatusOK {
		t.Fatalf("before the revocation: %d", code)
	}
	rv := state.Revocation{Issuer: th.Provider.Issuer, Subject: "alice", Before: th.clock.Now().Unix()}
	if err := th.store.Revoke(context.Background(), rv); err != nil {
		t.Fatal(err)
	}
	if code, auth := call(old); code != http.StatusUnauthorized || !strings.Contains(auth, "invalid_token") {
		t.Errorf("the revoked subject's token (verified and cached before): %d %q, want 401 invalid_token", code, auth)
	}
	if code, _ := call(idp.token(t, "bob", "api", time.Hour)); code != http.StatusOK {
		t.Errorf("another subject's token: %d", code)
	}
	th.clock.Add(2 * time.Second)
	later := idp.token(t, "alice", "api", time.Hour)
	if code, _ := call(later); code != http.StatusOK {
		t.Errorf("a token issued after the revocation: %d, want 200", code)
	}
}
