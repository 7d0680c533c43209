package stepup

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestUnprotectedRequestPassesWithIdentityHeadersAndOurCookiesStripped(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	out := th.serve(t, request("GET", "http://127.0.0.1/public", "X-User", "mallory", "Cookie", "a=1; stepup=forged"))
	if out.upstream == nil {
		t.Fatalf("public request did not pass: %d", out.rec.Code)
	}
	if v := out.upstream.Header.Get("X-User"); v != "" {
		t.Fatalf("client-supplied identity header reached upstream: %q", v)
	}
	if c := out.upstream.Header.Get("Cookie"); c != "a=1" {
		t.Fatalf("upstream Cookie = %q, want our cookie removed", c)
	}
}

func TestSufficientSessionPassesWithIdentity(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	cookie := th.cookieFor(t, th.session("urn:otp", "pwd", "otp"))
	out := th.serve(t, request("GET", "http://127.0.0.1/admin/users", "Cookie", cookie, "X-User", "mallory"))
	if out.upstream == nil {
		t.Fatalf("sufficient session was refused: %d %s", out.rec.Code, out.rec.Body)
	}
	if got := out.upstream.Header.Get("X-User"); got != "alice" {
		t.Fatalf("X-User = %q, want the session's subject", got)
	}
	for key, want := range map[string]string{"http.auth.user.id": "alice", "http.auth.user.acr": "urn:otp", "http.auth.user.amr": "pwd otp", "http.stepup.rule": "admin"} {
		if got, _ := out.repl.GetString(key); got != want {
			t.Errorf("{%s} = %q, want %q", key, got, want)
		}
	}
	if strings.Contains(out.upstream.Header.Get("Cookie"), "stepup") {
		t.Fatal("session cookie travelled upstream")
	}
}

func TestWeakSessionGetsRFC9470ChallengeAsAnAPIClient(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	cookie := th.cookieFor(t, th.session("urn:pwd", "pwd"))
	out := th.serve(t, request("GET", "http://127.0.0.1/admin", "Cookie", cookie, "Accept", "application/json"))
	if out.upstream != nil || out.rec.Code != http.StatusUnauthorized {
		t.Fatalf("status %d, upstream reached: %v", out.rec.Code, out.upstream != nil)
	}
	want := `Bearer error="insufficient_user_authentication", error_description="a stronger authentication is required (acr urn:otp)", acr_values="urn:otp"`
	if got := out.rec.Header().Get("WWW-Authenticate"); got != want {
		t.Fatalf("WWW-Authenticate\n got %s\nwant %s", got, want)
	}
	var body challengeBody
	if err := json.Unmarshal(out.rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.StepUpURL != "http://127.0.0.1/.stepup/login?return_to=%2Fadmin&rule=admin" {
		t.Fatalf("step_up_url = %q", body.StepUpURL)
	}
}

func TestPostIsNeverRedirected(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	out := th.serve(t, request("POST", "http://127.0.0.1/transfer", "Accept", "text/html", "Sec-Fetch-Mode", "navigate"))
	if out.rec.Code != http.StatusUnauthorized || out.rec.Header().Get("Location") != "" {
		t.Fatalf("POST answered %d Location %q; want 401 without redirect", out.rec.Code, out.rec.Header().Get("Location"))
	}
	if got := out.rec.Header().Get("WWW-Authenticate"); !strings.Contains(got, "max_age=300") {
		t.Fatalf("challenge lacks max_age: %s", got)
	}
	var body challengeBody
	_ = json.Unmarshal(out.rec.Body.Bytes(), &body)
	if !strings.Contains(body.StepUpURL, "return_to=%2F&") {
		t.Fatalf("a POST's step-up URL must return to /, got %s", body.StepUpURL)
	}
}

func TestTamperedCookieIsNoSessionNotAnError(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	cookie := th.cookieFor(t, th.session("urn:otp"))
	// One character of the sealed value changed (not the last, whose low
	// bits may be padding the decoder ignores).
	i := len(cookie) - 5
	other := byte('A')
	if cookie[i] == other {
		other = 'B'
	}
	tampered := cookie[:i] + string(other) + cookie[i+1:]
	for name, c := range map[string]string{"tampered": tampered, "truncated": cookie[:len(cookie)/2], "garbage": th.cookies.Plain.Session + "=%%%", "oversized": th.cookies.Plain.Session + "=" + strings.Repeat("A", 5000)} {
		t.Run(name, func(t *testing.T) {
			out := th.serve(t, request("GET", "http://127.0.0.1/admin", "Cookie", c))
			if out.rec.Code != http.StatusUnauthorized || out.upstream != nil {
				t.Fatalf("status %d; want a 401 challenge", out.rec.Code)
			}
		})
	}
}

func TestIdPOutageKeepsProtectedRoutesClosedAndOthersOpen(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	out := th.serve(t, request("GET", "http://127.0.0.1/admin", "Accept", "text/html"))
	if out.rec.Code != http.StatusServiceUnavailable || out.upstream != nil {
		t.Fatalf("protected navigation during outage: %d", out.rec.Code)
	}
	if out.rec.Header().Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	if out := th.serve(t, request("GET", "http://127.0.0.1/", "Accept", "text/html")); out.upstream == nil {
		t.Fatal("unprotected route closed during outage")
	}
	// A valid session still passes: only challenges need the IdP.
	cookie := th.cookieFor(t, th.session("urn:otp"))
	if out := th.serve(t, request("GET", "http://127.0.0.1/admin", "Cookie", cookie)); out.upstream == nil {
		t.Fatalf("valid session refused during outage: %d", out.rec.Code)
	}
}

func TestRequireLoginAllProtectsUnmatchedRequests(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), func(h *Handler) { h.RequireLogin = "all" })
	out := th.serve(t, request("GET", "http://127.0.0.1/anything", "Accept", "application/json"))
	if out.rec.Code != http.StatusUnauthorized {
		t.Fatalf("status %d", out.rec.Code)
	}
	if got := out.rec.Header().Get("WWW-Authenticate"); strings.Contains(got, "acr_values") {
		t.Fatalf("base login asks for an acr: %s", got)
	}
	cookie := th.cookieFor(t, th.session("urn:pwd"))
	if out := th.serve(t, request("GET", "http://127.0.0.1/anything", "Cookie", cookie)); out.upstream == nil {
		t.Fatalf("session refused by base login: %d", out.rec.Code)
	}
}

func TestBearerTokensAreRefusedWhenNotEnabled(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	out := th.serve(t, request("GET", "http://127.0.0.1/admin", "Authorization", "Bearer abc.def.ghi"))
	if out.rec.Code != http.StatusUnauthorized || !strings.Contains(out.rec.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("status %d header %q", out.rec.Code, out.rec.Header().Get("WWW-Authenticate"))
	}
}

func TestCookiesOverHTTPSAreSecureAndPrefixed(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	r := request("GET", "https://app.example/admin", "Accept", "text/html")
	out := th.serve(t, r)
	c := flowCookiesOf(out.rec.Result().Cookies())
	if len(c) != 1 || !strings.HasPrefix(c[0].Name, "__Secure-stepup_flow_") || !c[0].Secure {
		t.Fatalf("flow cookie over HTTPS: %+v", c)
	}
	loc, _ := url.Parse(out.rec.Header().Get("Location"))
	if got := loc.Query().Get("redirect_uri"); got != "https://app.example/.stepup/callback" {
		t.Fatalf("redirect_uri = %q", got)
	}
	s := th.session("urn:otp")
	sealed, _ := th.sessions.Seal(context.Background(), s)
	if out := th.serve(t, request("GET", "https://app.example/admin", "Cookie", "__Host-stepup="+sealed)); out.upstream == nil {
		t.Fatalf("__Host- session over HTTPS refused: %d", out.rec.Code)
	}
	if out := th.serve(t, request("GET", "https://app.example/admin", "Cookie", "stepup="+sealed)); out.upstream != nil {
		t.Fatal("an unprefixed session cookie was accepted over HTTPS")
	}
}

func TestIdentityHeaderLookAlikesAreStripped(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	r := request("GET", "http://127.0.0.1/public")
	// Non-canonical keys on purpose: they are what a client can send.
	plant := func(h http.Header, key, value string) { h[key] = []string{value} }
	plant(r.Header, "X_user", "mallory")
	plant(r.Header, "X.User", "mallory")
	plant(r.Header, "X-Unrelated_Thing", "kept")
	out := th.serve(t, r)
	has := func(key string) bool { _, ok := out.upstream.Header[key]; return ok }
	for _, k := range []string{"X_user", "X.User"} {
		if has(k) {
			t.Errorf("%s reached the upstream", k)
		}
	}
	if !has("X-Unrelated_Thing") {
		t.Error("an unrelated header was stripped")
	}
}
