package integration

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/internal/rogueop"
)

// An auth_time in the future would satisfy every max_age rule until that
// moment came: a token carrying one is refused (ID token at the callback,
// access token as a bearer credential). A few seconds ahead is clock skew:
// it is accepted and counted as now.

func TestSecurityAuthTimeInTheFutureIsRefused(t *testing.T) {
	e := newRogueEnv(t, rogueSite{})
	inAnHour := time.Now().Add(time.Hour).Unix()

	t.Run("IDTokenAtTheCallback", func(t *testing.T) {
		e.op.OnToken(func(g rogueop.Grant) rogueop.Reply {
			return rogueop.Tokens(e.op.SignRS256(e.op.Claims(g).With("auth_time", inAnHour)))
		})
		defer e.op.OnToken(nil)
		c := e.freshClient()
		mark, up := logMark(e.caddy), e.upstream.count()
		tr, _ := walk(t, c, e.caddy.URL()+"/settings", nil)
		e.assertRefusedLogin(t, c, tr, mark, up, "", refusal{status: http.StatusUnauthorized, reason: "auth_time", detail: "after now"})
	})
	t.Run("ControlIDTokenAFewSecondsAheadIsClockSkew", func(t *testing.T) {
		e.op.OnToken(func(g rogueop.Grant) rogueop.Reply {
			return rogueop.Tokens(e.op.SignRS256(e.op.Claims(g).With("auth_time", time.Now().Add(3*time.Second).Unix())))
		})
		defer e.op.OnToken(nil)
		e.login(t, e.freshClient(), "/settings")
	})

	access := func(authTime int64) string {
		now := time.Now().Unix()
		return e.op.SignRS256AccessToken(rogueop.Claims{
			"iss": e.op.Issuer(), "sub": "alice", "aud": []string{apiAudience},
			"iat": now, "exp": now + 300, "auth_time": authTime, "acr": acrMFA,
		})
	}
	t.Run("AccessTokenAsABearerCredential", func(t *testing.T) {
		mark, up := logMark(e.caddy), e.upstream.count()
		resp, body := api(t, e.freshClient(), "GET", e.caddy.URL()+"/api/orders", "Authorization", "Bearer "+access(inAnHour))
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Fatalf("got %d %q %s, want 401 invalid_token", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), truncate(body))
		}
		if e.upstream.count() != up {
			t.Error("the upstream was reached")
		}
		waitLogEntry(t, e.caddy, mark, logQuery{msg: "bearer token refused", field: "detail", substr: "auth_time is in the future"})
	})
	t.Run("ControlAccessTokenAFewSecondsAheadIsClockSkew", func(t *testing.T) {
		resp, body := api(t, e.freshClient(), "GET", e.caddy.URL()+"/api/orders", "Authorization", "Bearer "+access(time.Now().Add(3*time.Second).Unix()))
		var got echoed
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil || got.User != "alice" {
			t.Fatalf("got %d %s, want the request to pass", resp.StatusCode, truncate(body))
		}
	})
}
