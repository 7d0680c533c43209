package stepup

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
)

func TestNavigationRedirectsToTheIdPWithEveryProtection(t *testing.T) {
	idp := fakeDiscovery(t, true)
	th := newTestHandler(t, idp.URL, nil)
	cookie := th.cookieFor(t, th.session("urn:pwd"))
	out := th.serve(t, request("GET", "http://127.0.0.1/admin?tab=1", "Accept", "text/html", "Cookie", cookie))
	if out.rec.Code != http.StatusFound {
		t.Fatalf("status %d, want 302", out.rec.Code)
	}
	loc, err := url.Parse(out.rec.Header().Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), idp.URL+"/authorize?") {
		t.Fatalf("Location = %v", loc)
	}
	q := loc.Query()
	for key, want := range map[string]string{
		"response_type": "code", "client_id": "edge", "redirect_uri": "http://127.0.0.1/.stepup/callback",
		"code_challenge_method": "S256", "acr_values": "urn:otp", "login_hint": "alice", "scope": "openid",
		"claims": `{"id_token":{"acr":{"essential":true,"values":["urn:otp"]}}}`,
	} {
		if got := q.Get(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	for _, key := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(key)) < 43 {
			t.Errorf("%s = %q, want 256 bits of randomness", key, q.Get(key))
		}
	}
	if q.Has("max_age") {
		t.Errorf("a rule without max_age sent max_age: %v", q)
	}
	if q.Get("prompt") != "login" {
		t.Errorf("prompt = %q, want login: the session's acr falls short, and an OP may answer acr_values with that session", q.Get("prompt"))
	}
	cookies := flowCookiesOf(out.rec.Result().Cookies())
	if len(cookies) != 1 || cookies[0].Name != flowCookiePrefix+q.Get("state")[:flowNameIDLen] || cookies[0].Secure ||
		cookies[0].Path != "/.stepup/callback" || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("flow cookie = %+v", cookies)
	}
}

func TestFreshLoginRuleSendsPromptLoginAndMaxAgeZero(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	out := th.serve(t, request("GET", "http://127.0.0.1/wire", "Accept", "text/html"))
	loc, _ := url.Parse(out.rec.Header().Get("Location"))
	if q := loc.Query(); q.Get("max_age") != "0" || q.Get("prompt") != "login" || q.Has("claims") || q.Has("login_hint") {
		t.Fatalf("query = %v", q)
	}
}

func TestFreshLoginPassesOnceThenAsksAgain(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	s := th.session("urn:pwd")
	s.LoginRule = "wire"
	first := th.serve(t, request("GET", "http://127.0.0.1/wire", "Accept", "text/html", "Cookie", th.cookieFor(t, s)))
	if first.upstream == nil {
		t.Fatalf("fresh login did not pass: %d", first.rec.Code)
	}
	spent := first.rec.Result().Cookies()
	if len(spent) != 1 || spent[0].Name != th.cookies.Plain.Session {
		t.Fatalf("the pass was not marked spent: %+v", spent)
	}
	second := th.serve(t, request("GET", "http://127.0.0.1/wire", "Accept", "text/html", "Cookie", spent[0].Name+"="+spent[0].Value))
	if second.upstream != nil || second.rec.Code != http.StatusFound {
		t.Fatalf("second request with a spent pass: %d", second.rec.Code)
	}
}

func TestLoopGuardExplainsInsteadOfRedirectingAgain(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	s := th.session("urn:pwd") // a login for "admin" just completed, but with a weak acr
	s.LoginRule = "admin"
	out := th.serve(t, request("GET", "http://127.0.0.1/admin", "Accept", "text/html", "Cookie", th.cookieFor(t, s)))
	if out.rec.Code != http.StatusForbidden || !strings.Contains(out.rec.Body.String(), "still does not meet") {
		t.Fatalf("status %d body %s", out.rec.Code, out.rec.Body)
	}
	th.clock.Add(decision.LoopWindow + time.Second)
	out = th.serve(t, request("GET", "http://127.0.0.1/admin", "Accept", "text/html", "Cookie", th.cookieFor(t, s)))
	if out.rec.Code != http.StatusFound {
		t.Fatalf("after the loop window the user should be able to retry, got %d", out.rec.Code)
	}
}

func TestLoginEndpointRefusesUnknownRulesAndOffsiteReturns(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	if out := th.serve(t, request("GET", "http://127.0.0.1/.stepup/login?rule=nope")); out.rec.Code != http.StatusBadRequest {
		t.Fatalf("unknown rule: %d", out.rec.Code)
	}
	out := th.serve(t, request("GET", "http://127.0.0.1/.stepup/login?rule=admin&return_to=//evil.example"))
	if out.rec.Code != http.StatusFound {
		t.Fatalf("login start: %d", out.rec.Code)
	}
	c := flowCookiesOf(out.rec.Result().Cookies())[0]
	plain, err := th.sealer.Open(context.Background(), flowPurpose, c.Value)
	if err != nil {
		t.Fatal(err)
	}
	var f flowState
	_ = json.Unmarshal(plain, &f)
	if f.ReturnTo != "/" || f.Rule != "admin" {
		t.Fatalf("flow = %+v; want return_to / and rule admin", f)
	}
}

func TestLogoutClearsTheSession(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	out := th.serve(t, request("POST", "http://127.0.0.1/.stepup/logout"))
	c := out.rec.Result().Cookies()
	if out.rec.Code != http.StatusSeeOther || len(c) != 1 || c[0].MaxAge >= 0 || c[0].Name != th.cookies.Plain.Session {
		t.Fatalf("status %d cookies %+v", out.rec.Code, c)
	}
}

func TestShortMaxAgeExpiryIsNotMistakenForALoop(t *testing.T) {
	two := caddy.Duration(2 * time.Second)
	th := newTestHandler(t, fakeDiscovery(t, false).URL, func(h *Handler) { h.Rules[1].MaxAge = &two })
	s := th.session("urn:pwd") // logged in for "transfer" (max_age 2s) just now
	s.LoginRule = "transfer"
	th.clock.Add(3 * time.Second)
	out := th.serve(t, request("GET", "http://127.0.0.1/transfer", "Accept", "text/html", "Cookie", th.cookieFor(t, s)))
	if out.rec.Code != http.StatusFound {
		t.Fatalf("an aged login got %d, want a redirect for a fresh one", out.rec.Code)
	}
}

func TestWriteChallengeReturnsToTheSameSitePageItCameFrom(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	for referer, want := range map[string]string{
		"http://127.0.0.1/transfer/form?x=1": "return_to=/transfer/form?x=1&",
		"https://evil.example/transfer":      "return_to=/&",
		"":                                   "return_to=/&",
	} {
		out := th.serve(t, request("POST", "http://127.0.0.1/transfer", "Referer", referer))
		var body challengeBody
		_ = json.Unmarshal(out.rec.Body.Bytes(), &body)
		if got, _ := url.QueryUnescape(body.StepUpURL); !strings.Contains(got, want) {
			t.Errorf("Referer %q: step_up_url %s, want %s", referer, got, want)
		}
	}
}

func TestRecencyStepUpAsksForTheLevelTheSessionHas(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	s := th.session("urn:otp")
	th.clock.Add(10 * time.Minute) // older than transfer's 5m
	s.Expires = th.clock.Now().Add(time.Hour)
	out := th.serve(t, request("GET", "http://127.0.0.1/transfer", "Accept", "text/html", "Cookie", th.cookieFor(t, s)))
	loc, _ := url.Parse(out.rec.Header().Get("Location"))
	if q := loc.Query(); q.Get("acr_values") != "urn:otp" || q.Get("max_age") != "300" || q.Has("prompt") {
		t.Fatalf("recency step-up query: %v", q)
	}
}
