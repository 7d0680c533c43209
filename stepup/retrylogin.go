package stepup

import (
	"net/http"

	"go.uber.org/zap"
)

// retryLogin starts the one more attempt a refused login with lf.retry
// earns: the same requirement, return path and user, now with
// prompt=login, so an OP that reused a weaker session authenticates the
// user again. The new flow has Prompt set, so it is never retried itself.
func (h *Handler) retryLogin(w http.ResponseWriter, r *http.Request, f *flowState, lf *loginFailure) error {
	h.metrics.logins.WithLabelValues("retry", lf.reason).Inc()
	h.logger.Info("step-up retried with prompt=login: the identity provider answered with an earlier, weaker sign-in",
		logRule(f.Rule), zap.String("reason", lf.reason), zap.Error(lf.err), logRequest(r))
	d, err := h.idp.ForLogin(r.Context())
	if err != nil {
		return h.idpDown(w, r, err)
	}
	current := h.readSession(r)
	if !current.Valid(h.now()) || current.Subject != f.Subject {
		current = nil
	}
	req := f.requirement(h.policy)
	state := newFlowState(h.takeFlowSlot(w, r))
	next := h.newFlow(state, req, current, f.ReturnTo, true)
	next.Held = f.Held
	return h.sendFlow(w, r, d, req, current, &next)
}
