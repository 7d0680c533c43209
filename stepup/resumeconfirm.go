package stepup

import (
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// confirmHeld sends or discards a held form. The POST must come from our
// own page: same origin, this browser's hold cookie, the page's one-time
// token and the user the form was held for.
func (h *Handler) confirmHeld(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if !sameOrigin(r, h.origin(r)) {
		return h.resumeFailure(w, r, http.StatusForbidden, "origin", "This confirmation did not come from this site.")
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		return h.resumeFailure(w, r, http.StatusBadRequest, "form", "The confirmation could not be read.")
	}
	id, action := r.PostForm.Get("id"), r.PostForm.Get("action")
	if action != "send" && action != "discard" {
		return h.resumeFailure(w, r, http.StatusBadRequest, "form", "Choose Send or Discard.")
	}
	hr, err := h.loadHeld(r.Context(), r, id)
	if err != nil {
		return h.heldError(w, r, err)
	}
	if !constantTimeEqual(r.PostForm.Get("token"), hr.Token) {
		return h.resumeFailure(w, r, http.StatusForbidden, "token", "This confirmation is not the one shown to you.")
	}
	if reason := h.heldMismatch(r, id, hr); reason != "" {
		return h.resumeFailure(w, r, http.StatusForbidden, reason, mismatchMessage(reason))
	}
	ok, err := h.takeHeld(r.Context(), id)
	if err != nil {
		return h.resumeFailure(w, r, http.StatusServiceUnavailable, "state", "The held form could not be checked; try again.")
	}
	if !ok {
		return h.heldError(w, r, errNotHeld)
	}
	if action == "discard" {
		h.holdMetrics().WithLabelValues("discarded").Inc()
		h.logger.Info("held form discarded", logRule(hr.Rule), logSubject(h, hr.Subject), logClientIP(h, r), logRequest(r))
		w.Header().Set("Cache-Control", "no-store")
		return h.refuse(w, r, refusal{status: http.StatusOK, code: "discarded", description: "The form was discarded; nothing was sent.",
			page: &page{Title: "Form discarded", Message: "The form was discarded; nothing was sent.", Reason: "discarded"}})
	}
	h.holdMetrics().WithLabelValues("resumed").Inc()
	r2 := newResumeRequest(r, hr)
	if !h.KeepCookies {
		// The page's request carried this browser's hold cookies; the
		// form's own request never did, and the upstream has no use for them.
		dropHoldCookies(r2.Header)
	}
	h.logger.Info("held form resumed", logRule(hr.Rule), logSubject(h, hr.Subject), logClientIP(h, r), logRequest(r2))
	return h.ServeHTTP(w, r2, next)
}

// sameOrigin: Sec-Fetch-Site when the browser sends it, else Origin.
func sameOrigin(r *http.Request, origin string) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	return r.Header.Get("Origin") == origin
}
