package stepup

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/risk"
)

// observeLogs sends th's log to an observer the test can read.
func observeLogs(th *testHandler) *observer.ObservedLogs {
	core, logs := observer.New(zapcore.InfoLevel)
	th.logger = zap.New(core)
	return logs
}

// Clients are not told which signal fired, by default: an attacker would
// learn what to evade (issue 13, item 14). The challenge's
// error_description, its WWW-Authenticate header and the 403 body are
// generic; expose_reasons restores the details for demos.
func TestRiskReasonsStayOutOfClientAnswersUnlessExposed(t *testing.T) {
	for _, expose := range []bool{false, true} {
		t.Run(map[bool]string{false: "by default", true: "with expose_reasons"}[expose], func(t *testing.T) {
			list := blocklist(t, "203.0.113.0/24")
			challenged := newTestHandler(t, deadIssuer(t), withRisk(list, 60, func(c *risk.Config) { c.ExposeReasons = expose }))
			denied := newTestHandler(t, deadIssuer(t), withRisk(list, 95, func(c *risk.Config) { c.ExposeReasons = expose }))
			weak := challenged.cookieFor(t, challenged.session("urn:pwd"))
			ch := challenged.serveFrom(t, request("GET", "http://127.0.0.1/public", "Cookie", weak, "Accept", "application/json"), "203.0.113.7")
			dn := denied.serveFrom(t, request("GET", "http://127.0.0.1/public", "Cookie", denied.cookieFor(t, denied.session("urn:otp")), "Accept", "application/json"), "203.0.113.7")
			if ch.rec.Code != http.StatusUnauthorized || dn.rec.Code != http.StatusForbidden {
				t.Fatalf("challenge %d, denial %d; want 401 and 403", ch.rec.Code, dn.rec.Code)
			}
			var chBody, dnBody struct {
				ErrorDescription string `json:"error_description"`
			}
			_ = json.Unmarshal(ch.rec.Body.Bytes(), &chBody)
			_ = json.Unmarshal(dn.rec.Body.Bytes(), &dnBody)
			answers := map[string]string{
				"challenge error_description": chBody.ErrorDescription,
				"WWW-Authenticate":            ch.rec.Header().Get("WWW-Authenticate"),
				"403 error_description":       dnBody.ErrorDescription,
			}
			for where, text := range answers {
				leaks := strings.Contains(text, "ip_reputation")
				if leaks != expose {
					t.Errorf("%s = %q: names the signal %v, want %v", where, text, leaks, expose)
				}
			}
			if chBody.ErrorDescription == "" || dnBody.ErrorDescription == "" {
				t.Errorf("a generic reason must still be given: %q, %q", chBody.ErrorDescription, dnBody.ErrorDescription)
			}
		})
	}
}

// The audit event of a risk challenge says why: the score and each
// signal's contribution (issue 13, item 15), in enforce and report-only
// mode alike.
func TestRiskChallengeAuditEventCarriesScoreAndReasons(t *testing.T) {
	for _, reportOnly := range []bool{false, true} {
		th := newTestHandler(t, deadIssuer(t), withRisk(blocklist(t, "203.0.113.0/24"), 60, func(c *risk.Config) { c.ReportOnly = reportOnly }))
		logs := observeLogs(th)
		weak := th.cookieFor(t, th.session("urn:pwd"))
		th.serveFrom(t, request("GET", "http://127.0.0.1/public", "Cookie", weak, "Accept", "application/json"), "203.0.113.7")
		events := logs.FilterMessage("step-up required").All()
		if len(events) != 1 {
			t.Fatalf("report_only %v: %d step-up required events, want 1", reportOnly, len(events))
		}
		fields := events[0].ContextMap()
		if fields["risk_score"] != int64(60) || fields["risk_reasons"] != "ip_reputation=60" || fields["reason"] != decision.RiskName {
			t.Errorf("report_only %v: audit event fields %v, want risk_score 60 and risk_reasons ip_reputation=60", reportOnly, fields)
		}
	}
}
