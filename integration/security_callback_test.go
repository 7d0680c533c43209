package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
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
// ID token that is forged or not for this login, a token endpoint that
// fails, and an IdP whose answer does not meet the rule. Every one must end
// in a refusal page with the plugin's status, a log entry naming the
// reason, no session cookie, and nothing reaching the upstream.

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

func TestSecurityIDTokenNoncesAreChecked(t *testing.T) {
	e := newRogueEnv(t, rogueSite{})
	for _, tc := range []struct {
		name  string
		token func(e *rogueEnv, g rogueop.Grant) string
	}{
		{"NonceOfAnotherLoginIsRefused", func(e *rogueEnv, g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).With("nonce", "n-"+g.Nonce[:20]))
		}},
		{"MissingNonceIsRefused", func(e *rogueEnv, g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).Without("nonce"))
		}},
		{"EmptyNonceIsRefused", func(e *rogueEnv, g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).With("nonce", ""))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.op.OnToken(func(g rogueop.Grant) rogueop.Reply { return rogueop.Tokens(tc.token(e, g)) })
			defer e.op.OnToken(nil)
			c := e.freshClient()
			mark, up := logMark(e.caddy), e.upstream.count()
			tr, _ := walk(t, c, e.caddy.URL()+"/", nil)
			e.assertRefusedLogin(t, c, tr, mark, up, "", refusal{status: http.StatusUnauthorized, reason: "nonce"})
		})
	}
}

func TestSecurityForgedOrForeignIDTokensAreRefused(t *testing.T) {
	e := newRogueEnv(t, rogueSite{})
	attackerRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	attackerEC, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		token  func(g rogueop.Grant) string
		detail string // what the log's error must mention; "" for a control
	}{
		// Controls: the same flow with an honest token logs in, so each
		// refusal below is down to the one thing the attack changed.
		{"ControlValidRS256IsAccepted", func(g rogueop.Grant) string { return e.op.SignRS256(e.op.Claims(g)) }, ""},
		{"ControlValidES256IsAccepted", func(g rogueop.Grant) string { return e.op.SignES256(e.op.Claims(g)) }, ""},

		{"AlgNoneIsRefused", func(g rogueop.Grant) string { return rogueop.Unsigned(e.op.Claims(g)) }, "malformed jwt"},
		{"AlgNoneWithThePublishedKidIsRefused", func(g rogueop.Grant) string {
			tok := rogueop.Unsigned(e.op.Claims(g))
			return reheader(t, tok, map[string]any{"alg": "none", "kid": e.op.RSAKeyID()})
		}, "malformed jwt"},
		{"BadRS256SignatureIsRefused", func(g rogueop.Grant) string {
			return rogueop.SignRS256(attackerRSA, e.op.RSAKeyID(), e.op.Claims(g))
		}, "failed to verify signature"},
		{"RS256PayloadSwappedUnderAValidSignatureIsRefused", func(g rogueop.Grant) string {
			honest := e.op.SignRS256(e.op.Claims(g))
			forged := e.op.SignRS256(e.op.Claims(g).With("sub", "admin"))
			return splice(honest, forged)
		}, "failed to verify signature"},
		{"BadES256SignatureIsRefused", func(g rogueop.Grant) string {
			return rogueop.SignES256(attackerEC, e.op.ECKeyID(), e.op.Claims(g))
		}, "failed to verify signature"},
		{"RS256SignedWithAnUnpublishedKidIsRefused", func(g rogueop.Grant) string {
			return rogueop.SignRS256(attackerRSA, "attacker-kid", e.op.Claims(g))
		}, "failed to verify signature"},
		{"HS256KeyedWithTheRSAPublicKeyPEMIsRefused", func(g rogueop.Grant) string {
			return rogueop.SignHS256(e.op.RSAPublicKeyPEM(), e.op.RSAKeyID(), e.op.Claims(g))
		}, "malformed jwt"},
		{"HS256KeyedWithTheRSAPublicJWKIsRefused", func(g rogueop.Grant) string {
			jwk, _ := json.Marshal(e.op.RSAPublicJWK())
			return rogueop.SignHS256(jwk, e.op.RSAKeyID(), e.op.Claims(g))
		}, "malformed jwt"},
		{"WrongIssuerIsRefused", func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).With("iss", "https://evil.example"))
		}, "issued by a different provider"},
		{"IssuerWithATrailingSlashIsRefused", func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).With("iss", e.op.Issuer()+"/"))
		}, "issued by a different provider"},
		{"WrongAudienceIsRefused", func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).With("aud", []string{"another-client"}))
		}, "expected audience"},
		{"MissingAudienceIsRefused", func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).Without("aud"))
		}, "expected audience"},
		{"MissingSubIsRefused", func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).Without("sub"))
		}, "without sub or iat"},
		{"EmptySubIsRefused", func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).With("sub", ""))
		}, "without sub or iat"},
		{"MissingIatIsRefused", func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).Without("iat"))
		}, "without sub or iat"},
		{"ExpiredIsRefused", func(g rogueop.Grant) string {
			past := time.Now().Add(-time.Hour).Unix()
			return e.op.SignRS256(e.op.Claims(g).With("iat", past-300).With("exp", past))
		}, "expired"},
		{"MissingExpIsRefused", func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).Without("exp"))
		}, "expired"},
		{"NotYetValidIsRefused", func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).With("nbf", time.Now().Add(time.Hour).Unix()))
		}, "nbf"},
		{"GarbageInsteadOfAJWTIsRefused", func(rogueop.Grant) string { return "not.a.jwt" }, "malformed jwt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.op.OnToken(func(g rogueop.Grant) rogueop.Reply { return rogueop.Tokens(tc.token(g)) })
			defer e.op.OnToken(nil)
			c := e.freshClient()
			mark, up := logMark(e.caddy), e.upstream.count()
			tr, _ := walk(t, c, e.caddy.URL()+"/", nil)
			if tc.detail == "" {
				if got := tr.last(); got.status != http.StatusOK || !tr.minted() {
					t.Fatalf("an honest token was refused: %d %s", got.status, truncate(got.body))
				}
				return
			}
			e.assertRefusedLogin(t, c, tr, mark, up, "", refusal{status: http.StatusUnauthorized, reason: "token", detail: tc.detail})
		})
	}
}

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

// flip returns a different base64url character.
func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// splice puts forged's payload under honest's header and signature.
func splice(honest, forged string) string {
	h := strings.Split(honest, ".")
	f := strings.Split(forged, ".")
	return h[0] + "." + f[1] + "." + h[2]
}

// reheader replaces a compact JWT's header.
func reheader(t *testing.T, tok string, header map[string]any) string {
	t.Helper()
	b, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.SplitN(tok, ".", 2)
	return b64url(b) + "." + parts[1]
}
