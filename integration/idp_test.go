package integration

import (
	"net/url"
	"testing"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/hydra"
)

// hydraAPIClient is a separate client an API consumer uses to obtain JWT
// access tokens for our API audience.
func hydraAPIClient() hydra.Client {
	return hydra.Client{
		ID: "api-consumer", Secret: "api-consumer-secret",
		RedirectURIs: []string{"http://127.0.0.1:1/cb"},
		Audience:     []string{apiAudience},
	}
}

// accessToken runs a code flow for the API client and returns its JWT access token.
func (e *env) accessToken(t *testing.T, c hydra.Client) string {
	t.Helper()
	verifier, challenge := hydra.PKCE()
	code := e.idp.CodeFlow(t, c, url.Values{
		"audience":              {apiAudience},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
		"nonce":                 {"n-0123456789"},
	})
	return e.idp.Exchange(t, c, code, verifier).AccessToken
}

// startStoppedIdP returns a Hydra that has run (so its issuer URL is known)
// and is now down.
func startStoppedIdP(t *testing.T) *hydra.Server {
	s := hydra.Start(t, hydra.Options{})
	s.Stop()
	return s
}
