package stepup

import (
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
)

func TestReportOnlyRecordsButNeverChallenges(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), func(h *Handler) { h.ReportOnly = true })
	m := sharedMetrics()
	before := testutil.ToFloat64(m.challenges.WithLabelValues("admin", decision.ReasonNoSession, outcomeReportOnly))
	out := th.serve(t, request("GET", "http://127.0.0.1/admin", "Accept", "text/html"))
	if out.upstream == nil || out.rec.Code != http.StatusOK {
		t.Fatalf("report-only handler blocked a request: %d", out.rec.Code)
	}
	if got, _ := out.repl.GetString("http.stepup.result"); got != outcomeReportOnly {
		t.Fatalf("{http.stepup.result} = %q", got)
	}
	if after := testutil.ToFloat64(m.challenges.WithLabelValues("admin", decision.ReasonNoSession, outcomeReportOnly)); after != before+1 {
		t.Fatalf("report-only challenge not counted: %v -> %v", before, after)
	}
}

func TestReportOnlyRuleLeavesOtherRulesEnforced(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), func(h *Handler) { h.Rules[1].ReportOnly = true })
	if out := th.serve(t, request("GET", "http://127.0.0.1/transfer", "Accept", "application/json")); out.upstream == nil {
		t.Fatalf("report-only rule enforced: %d", out.rec.Code)
	}
	if out := th.serve(t, request("GET", "http://127.0.0.1/admin", "Accept", "application/json")); out.rec.Code != http.StatusUnauthorized {
		t.Fatalf("enforced rule let a request through: %d", out.rec.Code)
	}
}

func TestChallengesAndPassesAreCounted(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	m := sharedMetrics()
	challenged := testutil.ToFloat64(m.challenges.WithLabelValues("admin", decision.ReasonACR, "enforce"))
	passed := testutil.ToFloat64(m.passed)
	decodes := testutil.ToFloat64(m.sessionDecodes.WithLabelValues("sealed"))
	th.serve(t, request("GET", "http://127.0.0.1/admin", "Cookie", th.cookieFor(t, th.session("urn:pwd"))))
	th.serve(t, request("GET", "http://127.0.0.1/admin", "Cookie", th.cookieFor(t, th.session("urn:otp"))))
	th.serve(t, request("GET", "http://127.0.0.1/admin", "Cookie", th.cookies.Plain.Session+"=garbage"))
	if got := testutil.ToFloat64(m.challenges.WithLabelValues("admin", decision.ReasonACR, "enforce")); got != challenged+1 {
		t.Errorf("acr challenges %v -> %v", challenged, got)
	}
	if got := testutil.ToFloat64(m.passed); got != passed+1 {
		t.Errorf("passes %v -> %v", passed, got)
	}
	if got := testutil.ToFloat64(m.sessionDecodes.WithLabelValues("sealed")); got != decodes+1 {
		t.Errorf("decode failures %v -> %v", decodes, got)
	}
}
