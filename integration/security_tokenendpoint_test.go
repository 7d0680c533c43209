package integration

import (
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-stepup/caddy-stepup/internal/rogueop"
)

// Attacks on the login callback through the token endpoint: one that fails
// must end in a refusal, and a code is never redeemed twice.

func TestSecurityTokenEndpointFailuresAreRefused(t *testing.T) {
	e := newRogueEnv(t, rogueSite{})
	for _, tc := range []struct {
		name  string
		reply rogueop.Reply
		want  refusal
	}{
		{"InvalidGrantIsRefused", rogueop.Error(http.StatusBadRequest, "invalid_grant"),
			refusal{status: http.StatusUnauthorized, reason: "token", detail: "invalid_grant"}},
		{"ResponseWithoutAnIDTokenIsRefused", rogueop.Reply{Body: map[string]any{"access_token": "at", "token_type": "Bearer"}},
			refusal{status: http.StatusUnauthorized, reason: "token", detail: "without id_token"}},
		{"ErrorCodeWithMarkupIsReducedInTheLog", rogueop.Error(http.StatusBadRequest, `<script>"x"</script>`),
			refusal{status: http.StatusUnauthorized, reason: "token", detail: "scriptxscript"}},
		// A 5xx is an outage rather than a verdict: 503, nothing granted.
		// Last: it also marks the IdP down, so logins right after it are
		// answered 503 until the health backoff lets a probe through.
		{"ServerErrorIsRefusedAsAnOutage", rogueop.Reply{Status: http.StatusInternalServerError, Body: map[string]any{"oops": true}},
			refusal{status: http.StatusServiceUnavailable, reason: "idp", detail: "500"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.op.OnToken(func(rogueop.Grant) rogueop.Reply { return tc.reply })
			defer e.op.OnToken(nil)
			c := e.freshClient()
			mark, up := logMark(e.caddy), e.upstream.count()
			tr, _ := walk(t, c, e.caddy.URL()+"/", nil)
			e.assertRefusedLogin(t, c, tr, mark, up, "", tc.want)
			if strings.Contains(tr.last().body, "<script>") {
				t.Error("the IdP's error code reached the page unescaped")
			}
		})
	}
}

// TestSecurityAFailedCodeRedemptionIsNotRetried: a code goes to the token
// endpoint once. A second try (x/oauth2 probes client_secret_post after any
// error when the auth style is left to auto-detection) re-sends a code the
// IdP may already count as used, and its answer replaces the real error.
func TestSecurityAFailedCodeRedemptionIsNotRetried(t *testing.T) {
	e := newRogueEnv(t, rogueSite{})
	for _, tc := range []struct {
		name  string
		reply rogueop.Reply
	}{
		{"AfterInvalidGrant", rogueop.Error(http.StatusBadRequest, "invalid_grant")},
		{"AfterAServerError", rogueop.Reply{Status: http.StatusInternalServerError}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.op.OnToken(func(rogueop.Grant) rogueop.Reply { return tc.reply })
			defer e.op.OnToken(nil)
			calls := len(e.op.TokenCalls())
			tr, _ := walk(t, e.freshClient(), e.caddy.URL()+"/", nil)
			if tr.last().status < 400 || tr.minted() {
				t.Fatalf("a failed redemption logged in: %d", tr.last().status)
			}
			if got := e.op.TokenCalls()[calls:]; len(got) != 1 {
				var how []string
				for _, c := range got {
					how = append(how, c.ClientAuth)
				}
				t.Errorf("the code went to the token endpoint %d times (%v), want once", len(got), how)
			}
		})
	}
}
