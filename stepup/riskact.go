package stepup

// Acting on a risk verdict: the denial, the report-only record of one, and
// what a risk step-up tells the user and the audit log.

import (
	"net/http"
	"strconv"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

// denyRisky refuses a request whose score is above the deny threshold.
func (h *Handler) denyRisky(w http.ResponseWriter, r *http.Request, repl *caddy.Replacer, ruleName string, v *riskVerdict) error {
	reasons := v.result.Reasons()
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
	return h.refuse(w, r, f)
}

// describeRisk explains a risk step-up for people and error_description.
// The score and the signals that fired stay out of it unless the risk block
// sets expose_reasons: they would tell an attacker which signal to evade.
// The audit event always carries them (riskLogFields).
func (h *Handler) describeRisk(v *riskVerdict, reason string, req *decision.Requirement) string {
	if h.riskConfig.ExposeReasons {
		return "risk score " + strconv.Itoa(v.result.Score) + " (" + v.result.Reasons() + "): " + describe(reason, req)
	}
	return "additional verification is required: " + describe(reason, req)
}

// riskLogFields are a risk decision's score and per-signal reasons for
// the audit log.
func riskLogFields(v *riskVerdict) []zap.Field {
	return []zap.Field{zap.Int("risk_score", v.result.Score), zap.String("risk_reasons", v.result.Reasons())}
}

// recordWouldDeny logs and counts a denial that report-only mode skipped.
func (h *Handler) recordWouldDeny(r *http.Request, req *decision.Requirement, v *riskVerdict) {
	h.metrics.challenges.WithLabelValues(ruleNameOf(req), "risk_deny", outcomeReportOnly).Inc()
	h.logger.Info("request would be denied (report only)",
		logRule(ruleNameOf(req)), zap.String("reason", "risk"), zap.Int("risk_score", v.result.Score),
		zap.String("risk_reasons", v.result.Reasons()), logClientIP(h, r), logRequest(r))
}

func ruleNameOf(req *decision.Requirement) string {
	if req == nil {
		return decision.RiskName
	}
	return req.Name
}
