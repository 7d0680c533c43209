package stepup

// Acting on the risk deny threshold: the denial, and the report-only
// record of one.

import (
	"net/http"
	"strconv"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

// applyDeny carries out the deny threshold: a Deny refuses the request
// (denied is true), and a denial that report-only mode skipped is logged
// and counted before the request goes on to be challenged or passed.
func (h *Handler) applyDeny(w http.ResponseWriter, r *http.Request, repl *caddy.Replacer, d *decision.Decision, v *riskVerdict) (denied bool, err error) {
	if d.WouldDeny {
		h.recordWouldDeny(r, d.Matched, v)
	}
	if d.Outcome != decision.Deny {
		return false, nil
	}
	return true, h.denyRisky(w, r, repl, ruleNameOf(d.Matched), v)
}

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
