package stepup

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// A login started before an upgrade (its flow cookie names only its rule,
// not the requirement) is not completed against whatever that name means
// now, nor refused as foreign: the callback clears it and sends the browser
// back to its page, whose request starts a new login if it still needs one.
func TestAFlowCookieFromAnEarlierVersionRestartsTheLogin(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	now := th.clock.Now()
	old := flowState{State: newFlowState('1'), Nonce: randomToken(), Verifier: randomToken(),
		ReturnTo: "/admin?tab=users", Rule: "admin", Started: now.Unix() - 30} // Version 0: before requirements were carried
	callback := func(f flowState, state string) served {
		r := httptest.NewRequest(http.MethodGet, "https://app.example"+th.CallbackPath+"?code=c&state="+state, nil)
		r.Header.Set("Cookie", sealedFlow(t, th.Handler, f))
		return th.serve(t, r)
	}
	restarts := testutil.ToFloat64(th.metrics.logins.WithLabelValues("restart", "state"))

	out := callback(old, old.State)
	if out.rec.Code != http.StatusSeeOther || out.rec.Header().Get("Location") != "/admin?tab=users" {
		t.Fatalf("outdated flow: %d to %q, want 303 to its return path", out.rec.Code, out.rec.Header().Get("Location"))
	}
	cleared := false
	for _, c := range out.rec.Result().Cookies() {
		if c.Name == th.cookies.Prefixed.FlowPrefix+old.State[:flowNameIDLen] && c.MaxAge < 0 {
			cleared = true
		}
	}
	if !cleared || strings.Contains(out.rec.Header().Get("Set-Cookie"), th.cookies.Prefixed.Session+"=") {
		t.Fatalf("outdated flow: Set-Cookie %q, want its flow cookie cleared and no session", out.rec.Header().Values("Set-Cookie"))
	}
	if got := testutil.ToFloat64(th.metrics.logins.WithLabelValues("restart", "state")); got != restarts+1 {
		t.Fatalf("restarts counted %v, want %v", got, restarts+1)
	}

	// Controls: the same outdated cookie for another state is refused as
	// before, and a current flow goes on to redeem its code.
	if out := callback(old, "1"+randomToken()); out.rec.Code != http.StatusBadRequest {
		t.Fatalf("outdated flow, other state: %d, want 400", out.rec.Code)
	}
	current := old
	current.Version = flowVersion
	if out := callback(current, current.State); out.rec.Code == http.StatusSeeOther {
		t.Fatal("a current flow was restarted")
	}
}
