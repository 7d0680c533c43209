package stepup

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
)

// ServeHTTP implements caddyhttp.MiddlewareHandler. Requests for stepup's
// own endpoints are answered there. Every other request takes one straight
// path: strip client-supplied identity headers, match the rules, read the
// credentials, assess the risk, decide, act on the decision.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if ours, err := h.serveEndpoint(w, r, next); ours {
		return err
	}
	h.stripIdentityHeaders(r.Header)
	req, err := h.policy.Match(r)
	if err != nil {
		h.metrics.requests.WithLabelValues(outcomeError).Inc()
		return caddyhttp.Error(http.StatusBadRequest, err)
	}
	if req == nil && h.risk == nil {
		return h.passUnprotected(w, r, next) // the fast path: nothing to read or score
	}
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	c, err := h.readCredentials(w, r, req)
	if err != nil {
		return err
	}
	v := h.assessRisk(w, r, repl, &c)
	claims := claimsOf(c.s)
	d := h.policy.Decide(decision.Facts{Now: h.now(), Requirement: req, Bearer: c.bearer, InvalidToken: c.refused != nil}, &claims, v.verdict())
	return h.act(w, r, next, repl, d, c, &v)
}
