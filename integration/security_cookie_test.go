package integration

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Session cookies that are not exactly what this site sealed are no
// session: the request is challenged (401 for an API client), the log says
// no_session, and nothing reaches the upstream. Never a 5xx.

func TestSecurityForgedSessionCookiesAreNoSession(t *testing.T) {
	e := newRogueEnv(t, rogueSite{})
	valid := sessionValue(t, e, e.freshClient())

	other := newRogueEnv(t, rogueSite{op: e.op}) // same IdP and client, its own storage and keys
	foreign := sessionValue(t, other, other.freshClient())

	c := e.freshClient()
	cb, started := e.startFlow(t, c, "/")
	flow, ok := started.setCookie(flowCookiePrefix)
	if !ok {
		t.Fatal("no flow cookie was set")
	}

	for _, tc := range []struct {
		name   string
		cookie string // the Cookie header
		site   *rogueEnv
		pass   bool // a control
	}{
		{"ControlTheSealedCookiePasses", sessionCookieName + "=" + valid, e, true},
		{"ControlTheOtherSitesCookiePassesThere", sessionCookieName + "=" + foreign, other, true},

		{"TamperedCiphertextIsNoSession", sessionCookieName + "=" + mutate(t, valid, func(b []byte) []byte { b[len(b)/2] ^= 1; return b }), e, false},
		{"TamperedTagIsNoSession", sessionCookieName + "=" + mutate(t, valid, func(b []byte) []byte { b[len(b)-1] ^= 0x80; return b }), e, false},
		{"TamperedNonceIsNoSession", sessionCookieName + "=" + mutate(t, valid, func(b []byte) []byte { b[6] ^= 1; return b }), e, false},
		{"TamperedKeyIDIsNoSession", sessionCookieName + "=" + mutate(t, valid, func(b []byte) []byte { b[0] ^= 1; return b }), e, false},
		{"TruncatedIsNoSession", sessionCookieName + "=" + valid[:len(valid)-6], e, false},
		{"TruncatedToItsHeaderIsNoSession", sessionCookieName + "=" + valid[:24], e, false},
		{"ExtendedIsNoSession", sessionCookieName + "=" + valid + "AAAA", e, false},
		{"ReorderedBytesAreNoSession", sessionCookieName + "=" + mutate(t, valid, func(b []byte) []byte {
			// nonce and the first ciphertext bytes swap places
			out := append([]byte{}, b[:4]...)
			out = append(out, b[16:28]...)
			out = append(out, b[4:16]...)
			return append(out, b[28:]...)
		}), e, false},
		{"ReversedIsNoSession", sessionCookieName + "=" + reverse(valid), e, false},
		{"PaddedBase64IsNoSession", sessionCookieName + "=" + valid + "==", e, false},
		{"EmptyIsNoSession", sessionCookieName + "=", e, false},
		{"ForgedCookieBeforeTheRealOneIsNoSession", sessionCookieName + "=" + valid[:len(valid)-6] + "; " + sessionCookieName + "=" + valid, e, false},
		{"SessionCookieWithoutTheHostPrefixIsIgnored", "stepup=" + valid, e, false},
		{"FlowCookiePresentedAsTheSessionCookieIsNoSession", sessionCookieName + "=" + flow.Value, e, false},
		{"AnotherSitesCookieIsNoSession", sessionCookieName + "=" + foreign, e, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			probe := "/probe/" + tc.name
			mark, up := logMark(tc.site.caddy), tc.site.upstream.count()
			resp, body := api(t, tc.site.freshClient(), "GET", tc.site.caddy.URL()+probe, "Cookie", tc.cookie)
			if tc.pass {
				var got echoed
				if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil || got.User != "alice" {
					t.Fatalf("a sealed session cookie: %d %s", resp.StatusCode, truncate(body))
				}
				return
			}
			assertNoSession(t, tc.site, resp, mark, up, probe)
		})
	}

	t.Run("SessionCookiePresentedAsTheFlowCookieIsRefused", func(t *testing.T) {
		attacker := e.freshClient()
		mark, up, tokens := logMark(e.caddy), e.upstream.count(), e.op.TokenRequests()
		resp, body := api(t, attacker, "GET", cb.String(), "Cookie", flow.Name+"="+valid, "Sec-Fetch-Mode", "navigate")
		tr := trip{hops: []hop{{url: cb, status: resp.StatusCode, header: resp.Header, body: body, cookies: resp.Cookies()}}}
		e.assertRefusedLogin(t, attacker, tr, mark, up, "", refusal{status: http.StatusBadRequest, reason: "state"})
		if e.op.TokenRequests() != tokens {
			t.Error("the code was redeemed")
		}
	})
}

func TestSecurityExpiredSessionsAreNoSession(t *testing.T) {
	e := newRogueEnv(t, rogueSite{extra: "session {\n\t\t\tlifetime 2s\n\t\t}"})
	c := e.freshClient()
	value := sessionValue(t, e, c)
	var expires time.Time
	for _, h := range e.lastLogin {
		for _, ck := range h.cookies {
			if ck.Name == sessionCookieName {
				expires = ck.Expires
			}
		}
	}
	if expires.IsZero() || time.Until(expires) > 3*time.Second {
		t.Fatalf("the session cookie's expiry %v is not the configured 2s lifetime", expires)
	}
	time.Sleep(time.Until(expires) + 1500*time.Millisecond)
	// The browser would drop the cookie; an attacker who kept it sends it anyway.
	mark, up := logMark(e.caddy), e.upstream.count()
	resp, _ := api(t, e.freshClient(), "GET", e.caddy.URL()+"/probe/expired", "Cookie", sessionCookieName+"="+value)
	assertNoSession(t, e, resp, mark, up, "/probe/expired")
}

func TestSecurityOversizedCookiesAndHeadersNeverCause5xx(t *testing.T) {
	e := newRogueEnv(t, rogueSite{})
	valid := sessionValue(t, e, e.freshClient())
	junk := strings.Repeat("A", 16<<10)
	fakeState := strings.Repeat("s", 43)

	for _, tc := range []struct {
		name    string
		target  string
		headers []string
		want    int    // status
		reason  string // "step-up required" reason, or "step-up refused" for the callback
	}{
		{"SixteenKiBCookieHeaderOfJunkIsNoSession", "/probe/junk", []string{"Cookie: junk=" + junk}, 401, "no_session"},
		{"SixteenKiBSessionCookieIsNoSession", "/probe/big", []string{"Cookie: " + sessionCookieName + "=" + junk}, 401, "no_session"},
		{"SixteenKiBCookieHeaderBeforeAValidSessionIsNoSession", "/probe/before", []string{"Cookie: " + sessionCookieName + "=" + junk + "; " + sessionCookieName + "=" + valid}, 401, "no_session"},
		{"HundredsOfSessionCookiesAreNoSession", "/probe/many", []string{"Cookie: " + strings.Repeat(sessionCookieName+"=x; ", 800)}, 401, "no_session"},
		{"HundredsOfHeadersAreNoSession", "/probe/headers", repeatHeaders(300), 401, "no_session"},
		{"TwelveKiBBearerTokenIsRefused", "/api/orders", []string{"Authorization: Bearer " + junk[:12<<10]}, 401, "invalid_token"},
		{"SixteenKiBFlowCookieOnTheCallbackIsRefused", callbackPath + "?code=x&state=" + fakeState, []string{"Cookie: " + flowCookiePrefix + fakeState[:16] + "=" + junk}, 400, "state"},
		{"SixteenKiBStateIsRefused", callbackPath + "?code=x&state=" + junk, nil, 400, "state"},
		// Past Caddy's header limit (16 KiB by default) the server answers
		// 431 before any handler runs.
		{"SixtyFourKiBBearerTokenIs431", "/api/orders", []string{"Authorization: Bearer " + strings.Repeat(junk, 4)}, 431, ""},
		{"TwoMiBCookieHeaderIs431", "/probe/huge", []string{"Cookie: " + sessionCookieName + "=" + strings.Repeat(junk, 128)}, 431, ""},
		{"ThousandsOfHeadersAre431", "/probe/thousands", repeatHeaders(5000), 431, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mark, up := logMark(e.caddy), e.upstream.count()
			resp, body := rawGET(t, e.caddy, tc.target, tc.headers...)
			if resp.StatusCode != tc.want {
				t.Errorf("got %d, want %d: %s", resp.StatusCode, tc.want, truncate(body))
			}
			if resp.StatusCode >= 500 {
				t.Errorf("a 5xx for an oversized request: %d", resp.StatusCode)
			}
			if n := e.upstream.count(); n != up {
				t.Errorf("the upstream was reached: %d requests", n-up)
			}
			for _, ck := range resp.Cookies() {
				if ck.Name == sessionCookieName && ck.Value != "" {
					t.Error("a session cookie was set")
				}
			}
			switch {
			case tc.reason == "":
			case strings.HasPrefix(tc.target, callbackPath):
				waitLog(t, e.caddy, mark, "step-up refused", tc.reason)
			default:
				waitLogEntry(t, e.caddy, mark, logQuery{msg: "step-up required", reason: tc.reason, path: strings.SplitN(tc.target, "?", 2)[0]})
			}
		})
	}

	t.Run("SixteenKiBReturnToKeepsTheFlowCookieSmall", func(t *testing.T) {
		c := e.freshClient()
		tr, _ := walk(t, c, e.caddy.URL()+"/.stepup/login?return_to=/"+junk, nil)
		flow, ok := tr.setCookie(flowCookiePrefix)
		if !ok {
			t.Fatalf("no flow cookie: %v", tr.urls())
		}
		if len(flow.Value) > 2048 {
			t.Errorf("a 16 KiB return_to made a %d-byte flow cookie", len(flow.Value))
		}
		cb, ok := tr.hopTo(callbackPath)
		if !ok || cb.header.Get("Location") != "/" {
			t.Errorf("an overlong return_to was followed: %q", cb.header.Get("Location"))
		}
	})

	assertAlive(t, e)
	if resp, _ := api(t, e.freshClient(), "GET", e.caddy.URL()+"/", "Cookie", sessionCookieName+"="+valid); resp.StatusCode != http.StatusOK {
		t.Errorf("a valid session after the attacks: %d", resp.StatusCode)
	}
}

// sessionValue logs a fresh browser in as alice (acr pwd) and returns its
// session cookie value.
func sessionValue(t *testing.T, e *rogueEnv, c *http.Client) string {
	t.Helper()
	tr := e.loginAs(t, c, "/", "alice", acrPwd)
	e.lastLogin = tr.hops
	v := jarSession(c, e.caddy.URL())
	if v == "" {
		t.Fatal("no session cookie after a login")
	}
	return v
}

// assertNoSession checks an API request was challenged for having no
// session, reached nothing and set nothing.
func assertNoSession(t *testing.T, e *rogueEnv, resp *http.Response, mark, up int, probe string) {
	t.Helper()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "insufficient_user_authentication") {
		t.Errorf("got %d %q, want a 401 challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if n := e.upstream.count(); n != up {
		t.Errorf("the upstream was reached: %+v", e.upstream.since(up))
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookieName && ck.Value != "" {
			t.Error("a session cookie was set")
		}
	}
	waitLogEntry(t, e.caddy, mark, logQuery{msg: "step-up required", reason: "no_session", path: probe})
}

// mutate decodes a cookie value, changes its bytes with f and encodes it
// again.
func mutate(t *testing.T, v string, f func([]byte) []byte) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		t.Fatalf("session cookie is not base64url: %v", err)
	}
	return base64.RawURLEncoding.EncodeToString(f(b))
}

func reverse(s string) string {
	b := []byte(s)
	for i, j := 0, len(b)-1; i < j; i, j = i+1, j-1 {
		b[i], b[j] = b[j], b[i]
	}
	return string(b)
}

func repeatHeaders(n int) []string {
	h := make([]string, n)
	for i := range h {
		h[i] = fmt.Sprintf("X-Junk-%d: %d", i, i)
	}
	return h
}
