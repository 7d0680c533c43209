package stepup

import (
	"bytes"
	"mime"
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// Holding a browser's form submission that fell short, then starting the
// login that returns to the confirmation page (resumepage.go). The held
// record itself and its storage are resume.go's, its cookie holdcookie.go's.

// holdable says whether r is a same-origin browser form submission we may
// hold. Cross-site submissions never are: holding one and replaying it after
// the victim signs in is exactly a CSRF. Other requests keep the RFC 9470
// 401, since API clients retry by themselves.
func (h *Handler) holdable(r *http.Request) bool {
	if h.holdMaxBody() <= 0 {
		return false
	}
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return false
	}
	if !isFormType(r.Header.Get("Content-Type")) {
		return false
	}
	if mode := r.Header.Get("Sec-Fetch-Mode"); mode != "" {
		if mode != "navigate" {
			return false
		}
	} else if r.Header.Get("X-Requested-With") != "" || !bytes.Contains([]byte(r.Header.Get("Accept")), []byte("text/html")) {
		return false
	}
	return sameOrigin(r, h.origin(r))
}

func isFormType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data")
}

// holdThenLogin holds a form submission that fell short and starts the
// login whose return path is the confirmation page. handled is false when
// the form cannot be held (not a holdable form, one already resumed, over
// the cap): the caller answers as before.
func (h *Handler) holdThenLogin(w http.ResponseWriter, r *http.Request, req *decision.Requirement, s *session.Session) (handled bool, err error) {
	if resumed(r) || !h.holdable(r) {
		return false, nil
	}
	if claims := claimsOf(s); req.Loops(&claims, h.now()) {
		return false, nil
	}
	d, err := h.idp.ForLogin(r.Context())
	if err != nil {
		return true, h.idpDown(w, r, err)
	}
	body, ok := h.holdBody(r)
	if !ok {
		return false, nil
	}
	// The login attempt's state is chosen first: the hold is bound to it.
	// Its slot is taken and the hold cookie set only once the hold is
	// stored, so a hold that fails sets nothing and the caller answers as
	// if no hold had been tried.
	slot := h.nextFlowSlot(r)
	state := newFlowState(slot)
	id := newHeldID()
	cookie, err := h.hold(r, id, body, req, s, state)
	if err != nil {
		h.logger.Warn("held form: could not store it", zap.Error(err), logRequest(r))
		return false, nil
	}
	h.passFlowSlot(w, r, slot)
	h.setHoldCookie(w, r, state[:flowNameIDLen], cookie)
	h.holdMetrics().WithLabelValues("held").Inc()
	h.logger.Info("form held for step-up", logRule(req.Name), logSubject(h, subjectOf(s)), logClientIP(h, r), logRequest(r))
	f := h.newFlow(state, req, s, h.resumePath()+"?id="+id, false)
	f.Held = f.State
	return true, h.sendFlow(w, r, d, req, s, &f)
}
