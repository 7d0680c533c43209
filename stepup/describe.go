package stepup

import (
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
)

// describe explains, for people and for error_description, why a request
// needs a stronger or fresher login.
func describe(reason string, req *decision.Requirement) string {
	switch reason {
	case decision.ReasonNoSession:
		return "authentication required"
	case decision.ReasonACR:
		return "a stronger authentication is required (acr " + req.ACRValues + ")"
	case decision.ReasonAMR:
		return "authentication with " + strings.Join(req.AMR, ", ") + " is required"
	case decision.ReasonMaxAge:
		if req.MaxAge == 0 {
			return "a fresh authentication is required for this request"
		}
		return "authentication more recent than " + req.MaxAge.String() + " is required"
	}
	return reason
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
