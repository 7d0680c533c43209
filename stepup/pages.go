package stepup

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

// renderFailure refuses a login with a short page (or hands it to
// handle_errors with {http.stepup.error} login_failed, the message in
// {http.stepup.error_description} and the reason in {http.stepup.reason});
// the details go to the log. Nothing shown comes from the IdP or the
// request unfiltered.
func (h *Handler) renderFailure(w http.ResponseWriter, r *http.Request, f *loginFailure) error {
	h.logger.Warn("step-up refused", zap.String("reason", f.reason), zap.Int("status", f.status), zap.Error(f.err), logRequest(r))
	title := "Sign-in refused"
	switch {
	case f.status == http.StatusServiceUnavailable:
		title = "Sign-in temporarily unavailable"
		w.Header().Set("Retry-After", "5")
	case f.status >= 500:
		title = "Sign-in failed"
	}
	w.Header().Set("Cache-Control", "no-store")
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set("http.stepup.reason", f.reason)
	}
	return h.refuse(w, r, refusal{status: f.status, code: errLoginFailed, description: f.msg, err: f,
		page: &page{Title: title, Message: f.msg, Reason: f.reason}})
}
