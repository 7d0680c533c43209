package stepup

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
)

// act carries out a decision, each outcome one call: the risk denial
// (riskact.go), the challenge (challenge.go), or the request passed on
// with its identity (identity.go). A pass that rests on a max_age 0 login
// spends it first (freshpass.go); one already spent is challenged for a
// fresh login instead.
func (h *Handler) act(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, repl *caddy.Replacer, d decision.Decision, c credentials, v *riskVerdict) error {
	if h.decided != nil {
		h.decided(d)
	}
	if denied, err := h.applyDeny(w, r, repl, &d, v); denied {
		return err
	}
	if d.FreshPass != nil {
		ok, err := h.spendFreshPass(w, r, c.s)
		if err != nil {
			return err
		}
		if !ok {
			d = d.Spent()
		}
	}
	if d.Outcome == decision.Challenge {
		return h.challenge(w, r, next, repl, &d, &c, v)
	}
	return h.passOn(w, r, next, repl, d.Requirement, c.s)
}
