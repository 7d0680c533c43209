package stepup

import (
	"net/http"

	"go.uber.org/zap"
)

// Whether the confirmation page may show or send a held form, and its
// refusals: shared by the page (resumepage.go) and its form's POST
// (resumeconfirm.go).

// heldMismatch names why the signed-in user or site may not send hr, the
// form held as id.
func (h *Handler) heldMismatch(r *http.Request, id string, hr *heldRequest) string {
	if hr.Origin != h.origin(r) {
		return "origin"
	}
	s := h.readSession(r)
	if !s.Valid(h.now()) {
		return "subject"
	}
	if hr.Subject != "" && !constantTimeEqual(hr.Subject, s.Subject) {
		return "subject"
	}
	if h.checkHeldFlow(r.Context(), id, heldFlowParam(r), hr, s) != nil {
		return "flow"
	}
	return ""
}

func mismatchMessage(reason string) string {
	if reason == "flow" {
		return "This form was held for another sign-in than this one; it cannot be sent from here. Fill it in again."
	}
	return "This form was held for another user or site; it cannot be sent from here."
}

func (h *Handler) heldError(w http.ResponseWriter, r *http.Request, err error) error {
	if err == errNotHeld {
		return h.resumeFailure(w, r, http.StatusGone, "expired", "This form is no longer held: it was already sent or discarded, it expired, or it was held in another browser. Fill it in again.")
	}
	return h.resumeFailure(w, r, http.StatusServiceUnavailable, "storage", "The held form could not be read; try again.")
}

func (h *Handler) resumeFailure(w http.ResponseWriter, r *http.Request, status int, reason, msg string) error {
	h.holdMetrics().WithLabelValues("refused").Inc()
	h.logger.Info("held form refused", zap.String("reason", reason), zap.Int("status", status), logRequest(r))
	return h.refuse(w, r, refusal{status: status, code: errBadRequest, description: msg,
		page: &page{Title: "The form was not sent", Message: msg, Reason: "resume_" + reason}})
}
