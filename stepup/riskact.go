package stepup

// Acting on the risk deny threshold: the denial, or the report-only
// record of one.

import (
	"net/http"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
)

// applyDeny carries out the risk deny threshold: a Deny refuses the
// request (denied is true); a denial that report-only mode skipped is
// logged and counted, and the request goes on to be challenged or passed.
func (h *Handler) applyDeny(w http.ResponseWriter, r *http.Request, repl *caddy.Replacer, d *decision.Decision, v *riskVerdict) (denied bool, err error) {
	if d.Outcome != decision.Deny {
		if d.WouldDeny {
			ruleName := ruleNameOf(d.Matched)
			h.metrics.challenges.WithLabelValues(ruleName, "risk_deny", outcomeReportOnly).Inc()
			h.logger.Info("request would be denied (report only)",
				logRule(ruleName), zap.String("reason", "risk"), zap.Int("risk_score", v.result.Score),
				zap.String("risk_reasons", v.result.Reasons()), logClientIP(h, r), logRequest(r))
		}
		return false, nil
	}
	ruleName, reasons := ruleNameOf(d.Matched), v.result.Reasons()
	h.metrics.requests.WithLabelValues(outcomeDenied).Inc()
	repl.Set("http.stepup.rule", ruleName)
	repl.Set("http.stepup.result", outcomeDenied)
	repl.Set("http.stepup.reason", "risk")
	h.logger.Warn("request denied",
		logRule(ruleName), zap.String("reason", "risk"), zap.Int("risk_score", v.result.Score),
		zap.String("risk_reasons", reasons), logClientIP(h, r), logRequest(r))
	description := "request refused"
	if h.riskConfig.ExposeReasons {
		description = "request refused: risk score " + strconv.Itoa(v.result.Score) + " (" + reasons + ")"
	}
	w.Header().Set("Cache-Control", "no-store")
	f := refusal{status: http.StatusForbidden, code: errAccessDenied, description: description}
	if isNavigation(r) {
		f.page = &page{Title: "Request refused", Message: "This request looks too risky to allow. If this is unexpected, contact your administrator.", Reason: "risk"}
	} else {
		f.json = map[string]string{"error": errAccessDenied, "error_description": description}
	}
	return true, h.refuse(w, r, f)
}

func ruleNameOf(req *decision.Requirement) string {
	if req == nil {
		return decision.RiskName
	}
	return req.Name
}
