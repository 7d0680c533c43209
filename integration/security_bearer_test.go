package integration

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/internal/rogueop"
)

// Bearer tokens are judged as access tokens for our API audience: signed by
// the provider with an accepted algorithm, issued by it, for bearer_audience,
// unexpired, and not an ID token. A refused token gets 401 invalid_token.

func TestSecurityBearerTokensAreJudgedAsAccessTokens(t *testing.T) {
	e := newRogueEnv(t, rogueSite{})
	attacker, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	access := func() rogueop.Claims {
		now := time.Now().Unix()
		return rogueop.Claims{
			"iss": e.op.Issuer(), "sub": "alice", "aud": []string{apiAudience},
			"iat": now, "exp": now + 300, "auth_time": now, "acr": acrMFA, "amr": []string{"pwd", "otp"},
			"client_id": "api-consumer", "scope": "orders",
		}
	}
	idToken := func() rogueop.Claims {
		return access().With("aud", []string{edgeClientID}).With("nonce", "n-0123456789").With("at_hash", "x5Bb8Jr9pmXrnCgLRpaEaw")
	}
	for _, tc := range []struct {
		name   string
		token  string
		detail string // in the debug entry "bearer token refused"; "" for the control
	}{
		{"ControlAValidAccessTokenPasses", e.op.SignRS256AccessToken(access()), ""},

		{"IDTokenPresentedAsAnAccessTokenIsRefused", e.op.SignRS256(idToken()), "audience not accepted"},
		{"IDTokenAlsoNamingTheAPIAudienceIsRefused", e.op.SignRS256(idToken().With("aud", []string{edgeClientID, apiAudience})), "not an access token"},
		{"TokenWithANonceIsRefused", e.op.SignRS256AccessToken(access().With("nonce", "n-0123456789")), "not an access token"},
		{"TokenWithAnAtHashIsRefused", e.op.SignRS256AccessToken(access().With("at_hash", "x5Bb8Jr9pmXrnCgLRpaEaw")), "not an access token"},
		{"TokenForAnotherAudienceIsRefused", e.op.SignRS256AccessToken(access().With("aud", []string{"https://other.example"})), "audience not accepted"},
		{"TokenForTheLoginClientIsRefused", e.op.SignRS256AccessToken(access().With("aud", []string{edgeClientID})), "audience not accepted"},
		{"TokenWithoutAudienceIsRefused", e.op.SignRS256AccessToken(access().Without("aud")), "audience not accepted"},
		{"AlgNoneIsRefused", rogueop.Unsigned(access()), "malformed jwt"},
		{"HS256KeyedWithTheRSAPublicKeyIsRefused", rogueop.SignHS256(e.op.RSAPublicKeyPEM(), e.op.RSAKeyID(), access()), "malformed jwt"},
		{"BadSignatureIsRefused", rogueop.SignRS256(attacker, e.op.RSAKeyID(), access()), "failed to verify signature"},
		{"WrongIssuerIsRefused", e.op.SignRS256AccessToken(access().With("iss", "https://evil.example")), "different provider"},
		{"ExpiredIsRefused", e.op.SignRS256AccessToken(access().With("iat", time.Now().Add(-2*time.Hour).Unix()).With("exp", time.Now().Add(-time.Hour).Unix())), "expired"},
		{"WithoutSubjectIsRefused", e.op.SignRS256AccessToken(access().Without("sub")), "not an access token"},
		// RFC 9068: an access token is typed at+jwt. An ID token (typed JWT)
		// minted for a client whose id is the API's audience, without nonce
		// or at_hash, has nothing else to give it away.
		{"IDTokenNamingTheAPIAudienceWithoutNonceIsRefusedByItsType", e.op.SignRS256(access().With("aud", []string{apiAudience})), "typ is not at+jwt"},
		{"AccessTokenTypedJWTIsRefused", e.op.SignRS256(access()), "typ is not at+jwt"},
		{"AccessTokenWithoutTypIsRefused", e.op.SignRS256Typed("", access()), "typ is not at+jwt"},
		{"ControlApplicationAtJWTTypePasses", e.op.SignRS256Typed("application/at+jwt", access()), ""},
		{"OverlongTokenIsRefused", e.op.SignRS256AccessToken(access().With("pad", strings.Repeat("x", 9000))), "bearer token refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mark, up := logMark(e.caddy), e.upstream.count()
			resp, body := api(t, e.freshClient(), "GET", e.caddy.URL()+"/api/orders", "Authorization", "Bearer "+tc.token)
			if tc.detail == "" {
				var got echoed
				if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil || got.User != "alice" || got.ACR != acrMFA {
					t.Fatalf("a valid access token: %d %s", resp.StatusCode, truncate(body))
				}
				return
			}
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("got %d %q, want 401 invalid_token", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
			if n := e.upstream.count(); n != up {
				t.Errorf("the upstream was reached: %+v", e.upstream.since(up))
			}
			if resp.Header.Get("Set-Cookie") != "" {
				t.Errorf("a refused bearer token set a cookie: %q", resp.Header.Get("Set-Cookie"))
			}
			waitLogEntry(t, e.caddy, mark, logQuery{msg: "step-up required", reason: "invalid_token", path: "/api/orders"})
			waitLogEntry(t, e.caddy, mark, logQuery{msg: "bearer token refused", field: "detail", substr: tc.detail})
		})
	}
}

// insecure_bearer_untyped is for IdPs that do not type their access tokens:
// a token typed JWT then passes on its claims, and an ID token is still
// told apart by its nonce and audience.
func TestSecurityUntypedBearerTokensPassOnlyWithTheExplicitOption(t *testing.T) {
	e := newRogueEnv(t, rogueSite{extra: "insecure_bearer_untyped"})
	now := time.Now().Unix()
	access := rogueop.Claims{
		"iss": e.op.Issuer(), "sub": "alice", "aud": []string{apiAudience},
		"iat": now, "exp": now + 300, "auth_time": now, "acr": acrMFA,
	}
	resp, body := api(t, e.freshClient(), "GET", e.caddy.URL()+"/api/orders", "Authorization", "Bearer "+e.op.SignRS256(access))
	var got echoed
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil || got.User != "alice" {
		t.Fatalf("an access token typed JWT with insecure_bearer_untyped: %d %s", resp.StatusCode, truncate(body))
	}
	mark := logMark(e.caddy)
	idToken := access.With("nonce", "n-0123456789")
	resp, _ = api(t, e.freshClient(), "GET", e.caddy.URL()+"/api/orders", "Authorization", "Bearer "+e.op.SignRS256(idToken))
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("an ID token with insecure_bearer_untyped: %d, want 401 invalid_token", resp.StatusCode)
	}
	waitLogEntry(t, e.caddy, mark, logQuery{msg: "bearer token refused", field: "detail", substr: "not an access token"})
}
