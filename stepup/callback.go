package stepup

import (
	"errors"
	"net/http"
)

// serveCallback completes a login: it checks the attempt belongs to this
// browser, redeems the code with its PKCE verifier, verifies the ID token
// and our own requirements, then stores the new claims and returns the
// browser to where it was going.
func (h *Handler) serveCallback(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return h.renderFailure(w, r, fail(http.StatusMethodNotAllowed, "method", "The login callback only accepts GET.", errors.New("method "+r.Method)))
	}
	if over, err := h.regulateCallback(w, r); over {
		return err
	}
	s, f, err := h.completeLogin(r)
	if old := (*outdatedFlow)(nil); errors.As(err, &old) {
		return h.restartLogin(w, r, old)
	}
	if err != nil {
		var lf *loginFailure
		if !errors.As(err, &lf) {
			lf = fail(http.StatusInternalServerError, "internal", "The login could not be completed.", err)
		}
		if f != nil {
			h.clearFlow(w, r, f.State)
		}
		if lf.reason == "state" {
			h.regulateStray(r)
		}
		if lf.retry {
			return h.retryLogin(w, r, f, lf)
		}
		h.metrics.logins.WithLabelValues("failure", lf.reason).Inc()
		return h.renderFailure(w, r, lf)
	}
	h.recordLogin(w, r, s)
	if err := h.sessions.Write(w, r, s); err != nil {
		return h.renderFailure(w, r, fail(http.StatusServiceUnavailable, "internal", "The session could not be saved; try again.", err))
	}
	h.clearFlow(w, r, f.State)
	h.regulateCompleted(r, f.Subject)
	h.metrics.logins.WithLabelValues("success", "").Inc()
	h.logger.Info("step-up completed",
		logRule(f.Rule), logACR(s.ACR), logAMR(s.AMR), logSubject(h, s.Subject), logClientIP(h, r), logRequest(r))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, h.afterLogin(r.Context(), f, s), http.StatusSeeOther)
	return nil
}
