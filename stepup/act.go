package stepup

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
)

// act carries out a decision: refuse, challenge, or pass the request on
// with its identity.
func (h *Handler) act(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, repl *caddy.Replacer, d decision.Decision, c credentials, v *riskVerdict) error {
	if h.decided != nil {
		h.decided(d)
	}
	if d.WouldDeny {
		h.recordWouldDeny(r, d.Matched, v)
	}
	switch d.Outcome {
	case decision.Deny:
		return h.denyRisky(w, r, repl, ruleNameOf(d.Matched), v)
	case decision.Challenge:
		if d.Reason == decision.ReasonInvalidToken {
			return h.refuseBearer(w, r, next, repl, d.Requirement, c.refused)
		}
		if d.ForRisk {
			return h.fallShort(w, r, next, repl, d.Requirement, c.s, decision.RiskName, c.bearer, h.describeRisk(v, d.Reason, d.Requirement), riskLogFields(v)...)
		}
		return h.fallShort(w, r, next, repl, d.Requirement, c.s, d.Reason, c.bearer, describe(d.Reason, d.Requirement))
	}
	if d.FreshPass != nil {
		ok, err := h.spendFreshPass(w, r, c.s)
		if err != nil {
			return err
		}
		if !ok {
			return h.fallShort(w, r, next, repl, d.FreshPass, c.s, decision.ReasonMaxAge, c.bearer, describe(decision.ReasonMaxAge, d.FreshPass))
		}
	}
	if d.Requirement == nil {
		return h.passUnprotected(w, r, next)
	}
	h.metrics.passed.Inc()
	h.pass(r, repl, d.Requirement, c.s, outcomePass)
	return next.ServeHTTP(w, r)
}
