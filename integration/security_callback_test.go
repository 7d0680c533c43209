package integration

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/internal/rogueop"
)

// Attacks on the login callback: a callback this browser did not start, an
// ID token that is forged or not for this login (security_idtoken_test.go),
// a token endpoint that fails (security_tokenendpoint_test.go), and an IdP
// whose answer does not meet the rule. Every one must end in a refusal page
// with the plugin's status, a log entry naming the reason, no session
// cookie, and nothing reaching the upstream.

func TestSecurityCallbacksThisBrowserDidNotStartAreRefused(t *testing.T) {
	e := newRogueEnv(t, rogueSite{})

	// attack runs a flow in a fresh browser up to the callback, lets tamper
	// turn it into the request the attacker makes (with which browser), and
	// checks the refusal. The code must never be redeemed.
	attack := func(t *testing.T, tamper func(t *testing.T, victim *http.Client, cb string) (*http.Client, string)) {
		c := e.freshClient()
		cb, _ := e.startFlow(t, c, "/")
		mark, up, tokens := logMark(e.caddy), e.upstream.count(), e.op.TokenRequests()
		browser, target := tamper(t, c, cb.String())
		tr, _ := walk(t, browser, target, nil)
		e.assertRefusedLogin(t, browser, tr, mark, up, "", refusal{status: http.StatusBadRequest, reason: "state"})
		if n := e.op.TokenRequests(); n != tokens {
			t.Errorf("the code was redeemed %d times although the state did not check out", n-tokens)
		}
	}
	sameBrowser := func(tamper func(cb string) string) func(*testing.T, *http.Client, string) (*http.Client, string) {
		return func(_ *testing.T, c *http.Client, cb string) (*http.Client, string) { return c, tamper(cb) }
	}

	t.Run("ControlTheUntamperedCallbackLogsIn", func(t *testing.T) {
		c := e.freshClient()
		cb, _ := e.startFlow(t, c, "/")
		tr, _ := walk(t, c, cb.String(), nil)
		if tr.last().status != http.StatusOK || !tr.minted() {
			t.Fatalf("untampered callback: %d %s", tr.last().status, truncate(tr.last().body))
		}
	})
	t.Run("StateMismatchAfterTheCookieNameIsRefused", func(t *testing.T) {
		// The flow cookie is named after the state's first 16 characters:
		// changing a later one finds the cookie, whose sealed state differs.
		attack(t, sameBrowser(func(cb string) string {
			u := mustParse(t, cb)
			s := u.Query().Get("state")
			return withQuery(u, "state", ptr(s[:len(s)-1]+flip(s[len(s)-1]))).String()
		}))
	})
	t.Run("StateMismatchInTheCookieNameIsRefused", func(t *testing.T) {
		attack(t, sameBrowser(func(cb string) string {
			u := mustParse(t, cb)
			s := u.Query().Get("state")
			return withQuery(u, "state", ptr(flip(s[0])+s[1:])).String()
		}))
	})
	t.Run("MissingStateIsRefused", func(t *testing.T) {
		attack(t, sameBrowser(func(cb string) string { return withQuery(mustParse(t, cb), "state", nil).String() }))
	})
	t.Run("EmptyStateIsRefused", func(t *testing.T) {
		attack(t, sameBrowser(func(cb string) string { return withQuery(mustParse(t, cb), "state", ptr("")).String() }))
	})
	t.Run("OverlongStateWithTheRightPrefixIsRefused", func(t *testing.T) {
		attack(t, sameBrowser(func(cb string) string {
			u := mustParse(t, cb)
			return withQuery(u, "state", ptr(u.Query().Get("state")+strings.Repeat("A", 200))).String()
		}))
	})
	t.Run("LoginCSRFWithAnotherBrowsersCodeAndStateIsRefused", func(t *testing.T) {
		// The attacker starts a login of his own and hands its callback
		// (his code, his state) to the victim's browser.
		attack(t, func(t *testing.T, _ *http.Client, cb string) (*http.Client, string) { return e.freshClient(), cb })
	})
	t.Run("LoginCSRFIntoABrowserWithItsOwnPendingLoginIsRefused", func(t *testing.T) {
		attack(t, func(t *testing.T, _ *http.Client, cb string) (*http.Client, string) {
			victim := e.freshClient()
			e.startFlow(t, victim, "/") // the victim's own flow cookie is in its jar
			return victim, cb
		})
	})
	t.Run("CallbackReplayedInTheSameBrowserAfterUseIsRefused", func(t *testing.T) {
		c := e.freshClient()
		cb, _ := e.startFlow(t, c, "/")
		first, _ := walk(t, c, cb.String(), nil)
		if first.last().status != http.StatusOK {
			t.Fatalf("first use of the callback: %d", first.last().status)
		}
		before, mark, up, tokens := jarSession(c, e.caddy.URL()), logMark(e.caddy), e.upstream.count(), e.op.TokenRequests()
		tr, _ := walk(t, c, cb.String(), nil)
		last := tr.last()
		if last.status != http.StatusBadRequest {
			t.Fatalf("replayed callback: %d, want 400", last.status)
		}
		waitLog(t, e.caddy, mark, "step-up refused", "state")
		if tr.minted() || jarSession(c, e.caddy.URL()) != before {
			t.Error("the replay set a session cookie")
		}
		if e.upstream.count() != up || e.op.TokenRequests() != tokens {
			t.Error("the replay reached the upstream or the token endpoint")
		}
	})
	t.Run("FlowCookieReplayedAfterUseIsRefused", func(t *testing.T) {
		// The attacker has the used callback URL and the flow cookie (as
		// sent before the callback cleared it) and replays both from another
		// browser. Nothing server-side remembers the flow was used; the
		// refusal comes from the IdP's single-use code.
		c := e.freshClient()
		cb, started := e.startFlow(t, c, "/")
		flow, ok := started.setCookie(flowCookiePrefix)
		if !ok {
			t.Fatal("no flow cookie was set")
		}
		if tr, _ := walk(t, c, cb.String(), nil); tr.last().status != http.StatusOK {
			t.Fatalf("first use: %d", tr.last().status)
		}
		attacker := e.freshClient()
		mark, up := logMark(e.caddy), e.upstream.count()
		resp, body := api(t, attacker, "GET", cb.String(), "Cookie", flow.Name+"="+flow.Value, "Sec-Fetch-Mode", "navigate")
		tr := trip{hops: []hop{{url: cb, status: resp.StatusCode, header: resp.Header, body: body, cookies: resp.Cookies()}}}
		e.assertRefusedLogin(t, attacker, tr, mark, up, "", refusal{status: http.StatusUnauthorized, reason: "token", detail: "invalid_grant"})
	})
}

func TestSecurityCallbacksWithoutACodeAreRefused(t *testing.T) {
	e := newRogueEnv(t, rogueSite{})
	for _, tc := range []struct {
		name   string
		method string
		tamper func(cb *url.URL) *url.URL
		want   refusal
	}{
		{"IdPErrorIsRefused", http.MethodGet, func(cb *url.URL) *url.URL {
			return withQuery(withQuery(cb, "code", nil), "error", ptr("access_denied"))
		}, refusal{http.StatusForbidden, "idp", "access_denied"}},
		{"IdPErrorBesideACodeIsRefused", http.MethodGet, func(cb *url.URL) *url.URL {
			return withQuery(cb, "error", ptr("login_required"))
		}, refusal{http.StatusForbidden, "idp", "login_required"}},
		{"IdPErrorWithMarkupIsReduced", http.MethodGet, func(cb *url.URL) *url.URL {
			return withQuery(withQuery(cb, "code", nil), "error", ptr(`<img src=x onerror=alert(1)>`))
		}, refusal{http.StatusForbidden, "idp", "imgsrcxonerroralert1"}},
		{"MissingCodeIsRefused", http.MethodGet, func(cb *url.URL) *url.URL { return withQuery(cb, "code", nil) },
			refusal{http.StatusBadRequest, "code", "without code"}},
		{"CallbackByPOSTIsRefused", http.MethodPost, func(cb *url.URL) *url.URL { return cb },
			refusal{http.StatusMethodNotAllowed, "method", "POST"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.freshClient()
			cb, _ := e.startFlow(t, c, "/")
			target := tc.tamper(cb)
			mark, up, tokens := logMark(e.caddy), e.upstream.count(), e.op.TokenRequests()
			req, _ := http.NewRequest(tc.method, target.String(), nil)
			req.URL = target
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			tr := trip{hops: []hop{{url: target, status: resp.StatusCode, header: resp.Header, body: string(body), cookies: resp.Cookies()}}}
			e.assertRefusedLogin(t, c, tr, mark, up, "", tc.want)
			if e.op.TokenRequests() != tokens {
				t.Error("the token endpoint was called")
			}
			if strings.Contains(string(body), "<img") {
				t.Error("the IdP's error reached the page unescaped")
			}
		})
	}
}

func TestSecurityLoginsThatFallShortOfTheRuleAreRefused(t *testing.T) {
	e := newRogueEnv(t, rogueSite{})
	for _, tc := range []struct {
		name    string
		path    string // what the browser asks for
		session bool   // log in as alice (pwd) on / first
		token   func(g rogueop.Grant) string
		want    refusal
	}{
		{"ACRLowerThanRequiredIsRefused", "/admin", false, func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).With("acr", acrPwd))
		}, refusal{http.StatusForbidden, "acr", acrPwd}},
		{"ACRAbsentIsRefused", "/admin", false, func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).Without("acr"))
		}, refusal{http.StatusForbidden, "acr", ""}},
		{"ACRUnknownToTheLevelsIsRefused", "/admin", false, func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).With("acr", "urn:stepup:mfa:fake"))
		}, refusal{http.StatusForbidden, "acr", "urn:stepup:mfa:fake"}},
		{"StepUpWithALowerACRIsRefusedAndKeepsTheSession", "/admin", true, func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).With("acr", acrPwd))
		}, refusal{http.StatusForbidden, "acr", ""}},
		{"AuthTimeOlderThanMaxAgeIsRefused", "/settings", false, func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).With("auth_time", time.Now().Add(-time.Hour).Unix()))
		}, refusal{http.StatusForbidden, "auth_time", "older than allowed"}},
		{"AuthTimeAbsentWhenMaxAgeWasSentIsRefused", "/settings", false, func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).Without("auth_time"))
		}, refusal{http.StatusForbidden, "auth_time", "absent"}},
		{"StepUpReturningAnotherSubjectIsRefusedAndKeepsTheSession", "/admin", true, func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).With("sub", "mallory"))
		}, refusal{http.StatusForbidden, "subject", "different subject"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.freshClient()
			before := ""
			if tc.session {
				e.loginAs(t, c, "/", "alice", acrPwd)
				before = jarSession(c, e.caddy.URL())
			}
			var grant rogueop.Grant
			e.op.OnToken(func(g rogueop.Grant) rogueop.Reply { grant = g; return rogueop.Tokens(tc.token(g)) })
			defer e.op.OnToken(nil)
			mark, up := logMark(e.caddy), e.upstream.count()
			tr, _ := walk(t, c, e.caddy.URL()+tc.path, nil)
			e.assertRefusedLogin(t, c, tr, mark, up, before, tc.want)
			if tc.path == "/settings" && grant.MaxAge == "" {
				t.Error("the login for a max_age rule did not send max_age")
			}
			if tc.session {
				resp, body := api(t, c, "GET", e.caddy.URL()+"/")
				var got echoed
				if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil || got.User != "alice" || got.ACR != acrPwd {
					t.Errorf("the existing session changed: %d %s", resp.StatusCode, body)
				}
			}
		})
	}
}
