package stepup

import (
	"net/http"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/risk"
)

// A risk step-up with max_age 0 lets exactly one request through per
// login: the first one the new session makes, even when that request no
// longer scores high (the login recorded the new place). A pass left
// unspent would let the next risky request in without a login.
func TestARiskLoginWithMaxAgeZeroPassesOneRequestOnly(t *testing.T) {
	zero := caddy.Duration(0)
	th := newTestHandler(t, fakeDiscovery(t, false).URL, withRisk(blocklist(t, "203.0.113.0/24"), 60, func(c *risk.Config) { c.MaxAge = &zero }))
	s := th.session("urn:otp", "pwd", "otp")
	s.LoginRule = decision.RiskName

	// The redirect target after the risk login: quiet address, rule admin.
	first := th.serveFrom(t, request("GET", "http://127.0.0.1/admin", "Accept", "text/html", "Cookie", th.cookieFor(t, s)), "192.0.2.1")
	if first.upstream == nil {
		t.Fatalf("the first request after the risk login: %d", first.rec.Code)
	}
	var spent *http.Cookie
	for _, c := range first.rec.Result().Cookies() {
		if c.Name == th.cookies.Plain.Session {
			spent = c
		}
	}
	if spent == nil {
		t.Fatal("the risk login's one pass was not marked spent")
	}

	// The next risky request needs a new login.
	second := th.serveFrom(t, request("GET", "http://127.0.0.1/admin", "Accept", "application/json", "Cookie", spent.Name+"="+spent.Value), "203.0.113.7")
	if second.upstream != nil || second.rec.Code != http.StatusUnauthorized {
		t.Fatalf("a risky request after the spent pass: %d, reached upstream %v", second.rec.Code, second.upstream != nil)
	}
}
