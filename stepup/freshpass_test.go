package stepup

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/risk"
)

// A max_age 0 login allows one request, whatever copies of its cookie are
// sent: the use is recorded on the server, not only in the new cookie
// (issue 13, item 3).
func TestFreshPassIsSingleUseEvenForACopyOfTheOriginalCookie(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	s := th.session("urn:pwd")
	s.LoginRule = "wire"
	original := th.cookieFor(t, s)
	passed := 0
	for range 5 {
		if out := th.serve(t, request("POST", "http://127.0.0.1/wire", "Accept", "application/json", "Cookie", original)); out.upstream != nil {
			passed++
		} else if out.rec.Code != http.StatusUnauthorized {
			t.Fatalf("a replayed fresh pass got %d, want a 401 challenge", out.rec.Code)
		}
	}
	if passed != 1 {
		t.Fatalf("the original cookie of a max_age 0 login passed %d of 5 requests, want 1", passed)
	}
}

// A risk step-up with max_age 0 on a path a rule covers uses up its pass
// too: before, only the rule's max_age 0 marked a pass used.
func TestRiskFreshPassOnARulePathIsUsedUp(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, withRisk(blocklist(t, "203.0.113.0/24"), 60, func(c *risk.Config) {
		zero := caddy.Duration(0)
		c.MaxAge = &zero
	}))
	s := th.session("urn:otp")
	s.LoginRule = decision.RiskName
	cookie := th.cookieFor(t, s)
	first := th.serveFrom(t, request("GET", "http://127.0.0.1/admin", "Accept", "application/json", "Cookie", cookie), "203.0.113.7")
	if first.upstream == nil {
		t.Fatalf("the risk step-up's own request: %d, want it to pass", first.rec.Code)
	}
	spent := first.rec.Result().Cookies()
	if len(spent) != 1 || spent[0].Name != th.cookies.Plain.Session {
		t.Fatalf("the pass was not marked used in the cookie: %+v", spent)
	}
	for name, c := range map[string]string{"the original cookie": cookie, "the rewritten cookie": spent[0].Name + "=" + spent[0].Value} {
		again := th.serveFrom(t, request("GET", "http://127.0.0.1/admin", "Accept", "application/json", "Cookie", c), "203.0.113.7")
		if again.upstream != nil || again.rec.Code != http.StatusUnauthorized {
			t.Errorf("%s, a second risky request: %d, want a 401 challenge", name, again.rec.Code)
		}
	}
}

func TestLocalFreshPassLedgerNeverForgetsALivePass(t *testing.T) {
	l := newLocalFreshPasses(2)
	ctx, now := context.Background(), time.Unix(1_800_000_000, 0)
	until := now.Add(decision.FreshPassWindow)
	for _, key := range []string{"a", "b"} {
		if ok, err := l.use(ctx, key, now, until); !ok || err != nil {
			t.Fatalf("first use of %s: %v %v", key, ok, err)
		}
	}
	if ok, err := l.use(ctx, "a", now, until); ok || err != nil {
		t.Fatalf("second use of a: %v %v, want refused", ok, err)
	}
	if ok, err := l.use(ctx, "c", now, until); ok || !errors.Is(err, errFreshPassesFull) {
		t.Fatalf("a new pass while the ledger is full of live ones: %v %v, want refused as full", ok, err)
	}
	later := until.Add(time.Second)
	if ok, err := l.use(ctx, "c", later, later.Add(decision.FreshPassWindow)); !ok || err != nil {
		t.Fatalf("a new pass once the others expired: %v %v", ok, err)
	}
	if ok, _ := l.use(ctx, "c", later, later.Add(decision.FreshPassWindow)); ok {
		t.Fatal("c was usable twice")
	}
}
