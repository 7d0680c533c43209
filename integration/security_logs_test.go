package integration

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/caddyproc"
	"github.com/caddy-stepup/caddy-stepup/internal/rogueop"
)

// Caddy's whole log (JSON, level DEBUG) of complete flows, successful and
// refused, must not carry an authorization code, a token, the client
// secret, a PKCE verifier, a state or nonce, or a cookie value (issue 5).

func TestSecurityLogsNeverCarryCodesTokensSecretsOrCookies(t *testing.T) {
	t.Run("WithTheRogueOP", func(t *testing.T) {
		e := newRogueEnv(t, rogueSite{})
		var s secrets
		s.add("client secret", edgeSecret)

		c := e.freshClient()
		s.trip(e.loginAs(t, c, "/", "alice", acrPwd))
		s.trip(e.login(t, c, "/admin")) // step-up; the honest reply grants the requested acr

		// Refused logins: a foreign nonce, a token endpoint error, a
		// tampered state, another browser's callback.
		e.op.OnToken(func(g rogueop.Grant) rogueop.Reply {
			return rogueop.Tokens(e.op.SignRS256(e.op.Claims(g).With("nonce", "n-foreign-0123456789")))
		})
		tr, _ := walk(t, e.freshClient(), e.caddy.URL()+"/", nil)
		s.trip(tr)
		e.op.OnToken(func(rogueop.Grant) rogueop.Reply { return rogueop.Error(http.StatusBadRequest, "invalid_grant") })
		tr, _ = walk(t, e.freshClient(), e.caddy.URL()+"/", nil)
		s.trip(tr)
		e.op.OnToken(nil)
		victim := e.freshClient()
		cb, started := e.startFlow(t, victim, "/settings")
		s.trip(started)
		s.add("callback URL", cb.String())
		tampered := withQuery(cb, "state", ptr(cb.Query().Get("state")+"x"))
		tr, _ = walk(t, victim, tampered.String(), nil)
		s.trip(tr)
		tr, _ = walk(t, e.freshClient(), cb.String(), nil)
		s.trip(tr)

		// Bearer tokens, accepted and refused.
		good := e.op.SignRS256AccessToken(rogueop.Claims{"iss": e.op.Issuer(), "sub": "alice", "aud": []string{apiAudience}, "iat": nowUnix(), "exp": nowUnix() + 300, "acr": acrMFA})
		bad := rogueop.Unsigned(rogueop.Claims{"iss": e.op.Issuer(), "sub": "alice", "aud": []string{apiAudience}, "iat": nowUnix(), "exp": nowUnix() + 300})
		for _, tok := range []string{good, bad} {
			s.add("bearer token", tok)
			api(t, e.freshClient(), "GET", e.caddy.URL()+"/api/orders", "Authorization", "Bearer "+tok)
		}

		mark := logMark(e.caddy)
		api(t, c, "POST", e.caddy.URL()+"/.stepup/logout")
		waitLogEntry(t, e.caddy, mark, logQuery{msg: "logout"})

		for _, g := range e.op.Authorizations() {
			s.add("authorization code", g.Code)
			s.add("state", g.State)
			s.add("nonce", g.Nonce)
			s.add("PKCE challenge", g.Query.Get("code_challenge"))
		}
		for _, call := range e.op.TokenCalls() {
			s.add("PKCE verifier", call.Verifier)
			for _, k := range []string{"id_token", "access_token", "refresh_token"} {
				if v, ok := call.Reply.Body[k].(string); ok {
					s.add(k, v)
				}
			}
		}
		s.assertAbsent(t, e.caddy)
	})

	t.Run("WithHydra", func(t *testing.T) {
		e := newHydraEnv(t)
		var s secrets
		s.add("client secret", edgeSecret)
		c := e.caddy.Client()
		e.grant("alice", acrPwd, "pwd")
		tr, _ := walk(t, c, e.caddy.URL()+"/", nil)
		s.trip(tr)
		e.grant("alice", acrMFA, "pwd", "otp")
		tr, _ = walk(t, c, e.caddy.URL()+"/admin", nil)
		s.trip(tr)
		if tr.last().status != http.StatusOK {
			t.Fatalf("the Hydra flow failed: %d %s", tr.last().status, truncate(tr.last().body))
		}
		// A replayed callback: refused by Hydra.
		if cb, ok := tr.hopTo(callbackPath); ok {
			flow, _ := tr.setCookie(flowCookiePrefix)
			api(t, e.caddy.Client(), "GET", cb.url.String(), "Cookie", flow.Name+"="+flow.Value)
		}
		apiClient := e.idp.CreateClient(t, hydraAPIClient())
		s.add("client secret", apiClient.Secret)
		at := e.accessToken(t, apiClient)
		s.add("access token", at)
		api(t, e.caddy.Client(), "GET", e.caddy.URL()+"/api/orders", "Authorization", "Bearer "+at)
		api(t, e.caddy.Client(), "GET", e.caddy.URL()+"/api/orders", "Authorization", "Bearer "+at[:len(at)-4]+"AAAA")

		mark := logMark(e.caddy)
		api(t, c, "POST", e.caddy.URL()+"/.stepup/logout")
		waitLogEntry(t, e.caddy, mark, logQuery{msg: "logout"})
		for _, l := range e.idp.LoginRequests() {
			for _, p := range []string{"state", "nonce", "code_challenge"} {
				s.add(p, l.Query.Get(p))
			}
		}
		s.assertAbsent(t, e.caddy)
	})
}

// secrets collects values that must never be logged.
type secrets struct {
	kinds  []string
	values []string
}

// minSecretLen keeps short, common strings (which could occur by chance)
// out of the scan; every real secret here is longer.
const minSecretLen = 12

func (s *secrets) add(kind, v string) {
	if len(v) < minSecretLen {
		return
	}
	s.kinds, s.values = append(s.kinds, kind), append(s.values, v)
	// A JWT could be logged in part: each segment counts.
	if parts := strings.Split(v, "."); len(parts) == 3 {
		for i, p := range parts {
			if len(p) >= minSecretLen {
				s.kinds, s.values = append(s.kinds, kind+[]string{" header", " payload", " signature"}[i]), append(s.values, p)
			}
		}
	}
}

// trip records a navigation's codes (in callback URLs) and cookie values.
func (s *secrets) trip(tr trip) {
	for _, h := range tr.hops {
		if h.url.Path == callbackPath {
			q := h.url.Query()
			s.add("authorization code", q.Get("code"))
			s.add("state", q.Get("state"))
		}
		for _, ck := range h.cookies {
			s.add("cookie "+ck.Name, ck.Value)
		}
		if loc := h.header.Get("Location"); loc != "" {
			if u, err := url.Parse(loc); err == nil {
				s.add("code in a redirect", u.Query().Get("code"))
				s.add("nonce in a redirect", u.Query().Get("nonce"))
			}
		}
	}
}

func (s *secrets) assertAbsent(t *testing.T, c *caddyproc.Caddy) {
	t.Helper()
	logs := c.Logs()
	if len(s.values) < 20 {
		t.Fatalf("only %d secrets collected; the scan would prove little", len(s.values))
	}
	for _, want := range []string{`"path":"` + callbackPath + `"`, `"msg":"step-up refused"`, `"msg":"step-up completed"`} {
		if !strings.Contains(logs, want) {
			t.Fatalf("the log has no %s: the flows it should cover were not logged", want)
		}
	}
	for i, v := range s.values {
		for _, form := range []string{v, url.QueryEscape(v)} {
			if at := strings.Index(logs, form); at >= 0 {
				start := strings.LastIndexByte(logs[:at], '\n') + 1
				end := strings.IndexByte(logs[at:], '\n')
				if end < 0 {
					end = len(logs) - at
				}
				t.Errorf("Caddy's log carries a %s:\n%s", s.kinds[i], truncate(logs[start:at+end]))
				break
			}
		}
	}
	t.Logf("scanned %d bytes of log for %d secret values", len(logs), len(s.values))
}
