package e2e

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/internal/rogueop"
)

// startOP runs the repository's test OpenID Provider (internal/rogueop, the
// one integration/ scripts as a rogue IdP), left honest: it checks the client
// secret, the code, redirect_uri and PKCE at the token endpoint as a real OP
// does, and its ID tokens name alice with the acr the request asked for.
// The full browser flow against a real OP (Ory Hydra) is
// integration/core_test.go's job.
func startOP(t *testing.T, clientID, secret string) *rogueop.Provider {
	t.Helper()
	op := rogueop.Start(t, rogueop.Options{ClientID: clientID, ClientSecret: secret})
	// alice logs in with a second factor.
	op.OnToken(func(g rogueop.Grant) rogueop.Reply {
		return rogueop.Tokens(op.SignRS256(op.Claims(g).With("amr", []string{"pwd", "otp"})))
	})
	return op
}

// login stands in for the user at the OP: it sends the authorization
// request the handler redirected to, and returns the code the OP sends back
// to redirect_uri (with the request's state, which it checks).
func login(t *testing.T, authorize *url.URL) string {
	t.Helper()
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Get(authorize.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("the OP answered the authorization request with %d %q, want 302 to redirect_uri", resp.StatusCode, resp.Header.Get("Location"))
	}
	q := back.Query()
	if q.Get("code") == "" || q.Get("state") != authorize.Query().Get("state") {
		t.Fatalf("the OP redirected to %q, want a code and the request's state", back)
	}
	return q.Get("code")
}
