package stepup

import (
	"net/http"

	"go.uber.org/zap"
)

// restartLogin ends an outdated attempt cleanly: its flow cookie is
// cleared and the browser goes back to where it was going, whose request
// is judged afresh and, if it still needs one, starts a new login for the
// requirement as it is now. The login the IdP just completed is not used:
// what it was checked for is unknown.
func (h *Handler) restartLogin(w http.ResponseWriter, r *http.Request, old *outdatedFlow) error {
	h.clearFlow(w, r, old.state)
	h.metrics.logins.WithLabelValues("restart", "state").Inc()
	h.logger.Info("login restarted: its attempt was started by an earlier version", zap.String("reason", "state"), logRequest(r))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, safeReturnPath(old.returnTo, "/"), http.StatusSeeOther)
	return nil
}
