package integration

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/caddyproc"
	"github.com/caddy-stepup/caddy-stepup/integration/internal/hydra"
	"github.com/caddy-stepup/caddy-stepup/internal/rogueop"
)

// Attacks where the real IdP is the point: what Hydra does with a replayed
// or injected code, and how its key rotation meets the plugin's key cache.

// hydraEnv is newEnv with a recording upstream.
type hydraEnv struct {
	env
	recorder *recordingUpstream
}

func newHydraEnv(t *testing.T) *hydraEnv {
	t.Helper()
	e := &hydraEnv{recorder: startRecordingUpstream(t)}
	e.idp = hydra.Start(t, hydra.Options{})
	e.caddy = caddyproc.Start(t, caddyproc.Options{
		Site: siteConfig(e.idp.Issuer(), e.recorder.URL, ""),
		Env:  []string{"STEPUP_TEST_SECRET=" + edgeSecret},
	})
	e.client = e.registerEdge(t, e.caddy)
	return e
}

func TestSecurityReplayedAuthorizationCodesAreRefused(t *testing.T) {
	e := newHydraEnv(t)
	e.grant("alice", acrPwd, "pwd")

	t.Run("SecondRedemptionOfAUsedCodeIsRefused", func(t *testing.T) {
		// The attacker replays a used callback URL together with the flow
		// cookie it carried; the plugin redeems the code again and Hydra,
		// which saw it redeemed, must refuse.
		victim := e.caddy.Client()
		tr, _ := walk(t, victim, e.caddy.URL()+"/", nil)
		if tr.last().status != http.StatusOK {
			t.Fatalf("the victim's login failed: %d %s", tr.last().status, truncate(tr.last().body))
		}
		cb, ok := tr.hopTo(callbackPath)
		flow, ok2 := tr.setCookie(flowCookiePrefix)
		if !ok || !ok2 {
			t.Fatal("no callback hop or flow cookie in the victim's login")
		}
		attacker := e.caddy.Client()
		mark, up := logMark(e.caddy), e.recorder.count()
		resp, body := api(t, attacker, "GET", cb.url.String(), "Cookie", flow.Name+"="+flow.Value, "Sec-Fetch-Mode", "navigate")
		replay := trip{hops: []hop{{url: cb.url, status: resp.StatusCode, header: resp.Header, body: body, cookies: resp.Cookies()}}}
		// invalid_grant: Hydra refused the code itself, not the client.
		assertRefusedAt(t, e.caddy, e.recorder, attacker, replay, mark, up, "", refusal{status: http.StatusUnauthorized, reason: "token", detail: "invalid_grant"})
	})

	t.Run("CodeInjectedIntoAnotherBrowsersFlowIsRefused", func(t *testing.T) {
		// The attacker steals the victim's unused code and delivers it with
		// his own state and flow cookie: the plugin redeems it with the
		// attacker's PKCE verifier, which Hydra must refuse.
		victim, attacker := e.caddy.Client(), e.caddy.Client()
		_, victimCB := walk(t, victim, e.caddy.URL()+"/", isCallback)
		_, attackerCB := walk(t, attacker, e.caddy.URL()+"/", isCallback)
		if victimCB == nil || attackerCB == nil {
			t.Fatal("a flow never reached the callback")
		}
		injected := withQuery(attackerCB, "code", ptr(victimCB.Query().Get("code")))
		mark, up := logMark(e.caddy), e.recorder.count()
		tr, _ := walk(t, attacker, injected.String(), nil)
		assertRefusedAt(t, e.caddy, e.recorder, attacker, tr, mark, up, "", refusal{status: http.StatusUnauthorized, reason: "token", detail: "invalid_grant"})
	})
}

func TestSecurityIdPKeyRotationKeepsLoginsWorking(t *testing.T) {
	t.Run("HydraRotatesItsSigningKeyBetweenLogins", func(t *testing.T) {
		e := newHydraEnv(t)
		b := e.caddy.Client()
		e.grant("alice", acrPwd, "pwd")
		navigate(t, b, e.caddy.URL()+"/").echoed(t)
		old := e.idp.SigningKeyID()
		kid := e.idp.RotateSigningKey(t)
		if kid == old || !slices.Contains(e.idp.PublishedKeyIDs(t), kid) {
			t.Fatalf("rotation did not publish a new key: %s -> %s", old, kid)
		}
		e.grant("alice", acrMFA, "pwd", "otp")
		if got := navigate(t, b, e.caddy.URL()+"/admin").echoed(t); got.ACR != acrMFA || got.User != "alice" {
			t.Fatalf("step-up after the rotation reached the upstream as %+v", got)
		}
		if got := navigate(t, e.caddy.Client(), e.caddy.URL()+"/admin").echoed(t); got.ACR != acrMFA {
			t.Fatalf("a new browser's login after the rotation: %+v", got)
		}
	})

	t.Run("RogueOPSignsWithANewlyPublishedKid", func(t *testing.T) {
		e := newRogueEnv(t, rogueSite{})
		c := e.freshClient()
		e.loginAs(t, c, "/", "alice", acrPwd)
		old := e.op.RSAKeyID()
		kid := e.op.RotateRSAKey(false)
		var signedWith string
		e.op.OnToken(func(g rogueop.Grant) rogueop.Reply {
			signedWith = e.op.RSAKeyID()
			return e.op.HonestReply(g)
		})
		defer e.op.OnToken(nil)
		if got := navigate(t, c, e.caddy.URL()+"/admin").echoed(t); got.ACR != acrMFA {
			t.Fatalf("step-up signed with the new key: %+v", got)
		}
		if signedWith != kid || kid == old {
			t.Fatalf("the step-up token was signed with %q, want the new kid %q (old %q)", signedWith, kid, old)
		}
	})

	t.Run("RogueOPRetiredKeyStopsVerifyingOnceTheNewKeyIsSeen", func(t *testing.T) {
		e := newRogueEnv(t, rogueSite{})
		oldKey, oldKid := e.op.SigningKey()
		e.loginAs(t, e.freshClient(), "/", "alice", acrPwd) // caches the old key
		e.op.RotateRSAKey(true)
		// A token with the new kid makes the plugin refetch the JWKS; it
		// may hold off for its refresh interval first (see
		// RogueOPSignsWithANewlyPublishedKid), so try until it has.
		e.op.OnToken(func(g rogueop.Grant) rogueop.Reply {
			return rogueop.Tokens(e.op.SignRS256(e.op.Claims(g).With("acr", acrPwd)))
		})
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Second) {
			if tr, _ := walk(t, e.freshClient(), e.caddy.URL()+"/", nil); tr.last().status == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("a token signed with the new key never verified")
			}
		}
		e.op.OnToken(func(g rogueop.Grant) rogueop.Reply {
			return rogueop.Tokens(rogueop.SignRS256(oldKey, oldKid, e.op.Claims(g)))
		})
		defer e.op.OnToken(nil)
		c := e.freshClient()
		mark, up := logMark(e.caddy), e.upstream.count()
		tr, _ := walk(t, c, e.caddy.URL()+"/", nil)
		e.assertRefusedLogin(t, c, tr, mark, up, "", refusal{status: http.StatusUnauthorized, reason: "token", detail: "failed to verify signature"})
	})
}

func TestSecurityHydraIDTokensAreNotAccessTokens(t *testing.T) {
	e := newHydraEnv(t)
	e.grant("alice", acrMFA, "pwd", "otp")
	other := e.idp.CreateClient(t, hydraAPIClient())
	// A client whose id is the API's audience gets ID tokens with that aud;
	// only the ID token's own claims (nonce, at_hash) give it away.
	squatter := e.idp.CreateClient(t, hydra.Client{
		ID: apiAudience, Secret: "audience-squatter-secret",
		RedirectURIs: []string{"http://127.0.0.1:1/cb"},
	})
	for _, tc := range []struct {
		name   string
		client hydra.Client
		nonce  string
		detail string
	}{
		{"IDTokenOfAnotherClientIsRefused", other, "n-0123456789abcdef", "audience not accepted"},
		{"IDTokenWhoseClientIDIsTheAPIAudienceIsRefused", squatter, "n-0123456789abcdef", "not an access token"},
		{"IDTokenWithoutANonceWhoseClientIDIsTheAPIAudienceIsRefused", squatter, "", "not an access token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			verifier, challenge := hydra.PKCE()
			params := url.Values{"code_challenge": {challenge}, "code_challenge_method": {"S256"}, "nonce": {tc.nonce}}
			idToken := e.idp.Exchange(t, tc.client, e.idp.CodeFlow(t, tc.client, params), verifier).IDToken
			if idToken == "" {
				t.Fatal("Hydra issued no ID token")
			}
			t.Logf("ID token claims: %s", jwtClaims(t, idToken))
			mark, up := logMark(e.caddy), e.recorder.count()
			resp, body := api(t, e.caddy.Client(), "GET", e.caddy.URL()+"/api/orders", "Authorization", "Bearer "+idToken)
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("an ID token as a bearer token: %d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), truncate(body))
			}
			if e.recorder.count() != up {
				t.Error("the upstream was reached")
			}
			waitLog(t, e.caddy, mark, "step-up required", "invalid_token")
			waitLogEntry(t, e.caddy, mark, logQuery{msg: "bearer token refused", field: "detail", substr: tc.detail})
		})
	}
}

// jwtClaims returns a compact JWT's payload as JSON text.
func jwtClaims(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWT: %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
