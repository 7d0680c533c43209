package stepup

import (
	"errors"
	"net/http"

	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// readSession returns the request's session, or nil when there is none or it
// does not open (tampered, truncated, foreign key, expired key, old format):
// all of those simply mean "no session", never an error page. Each outcome
// is counted.
func (h *Handler) readSession(r *http.Request) *session.Session {
	s, err := h.sessions.Read(r)
	switch {
	case errors.Is(err, session.ErrFormat):
		h.metrics.sessionDecodes.WithLabelValues("format").Inc()
	case err != nil:
		h.metrics.sessionDecodes.WithLabelValues("sealed").Inc()
	case s != nil && !s.Valid(h.now()):
		h.metrics.sessionDecodes.WithLabelValues("expired").Inc()
	}
	return s
}

// dropOurCookies removes stepup's cookies from the request before it goes
// upstream, unless keep_cookies is set.
func (h *Handler) dropOurCookies(r *http.Request) {
	if h.KeepCookies {
		return
	}
	h.cookies.Drop(r.Header)
}
