package stepup

import (
	"net/http"
	"regexp"
)

const sessionPurpose = "session"

var cookieNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// readSession returns the request's session, or nil when there is none or it
// does not open (tampered, truncated, foreign key, expired key, old format):
// all of those simply mean "no session", never an error page.
func (h *Handler) readSession(r *http.Request) *session {
	raw, ok := cookieValue(r.Header, h.cookies(r).session)
	if !ok || raw == "" {
		return nil
	}
	plain, err := h.sealer.open(r.Context(), sessionPurpose, raw)
	if err != nil {
		return nil
	}
	s, err := unmarshalSession(plain)
	if err != nil {
		return nil
	}
	return s
}

func (h *Handler) writeSession(w http.ResponseWriter, r *http.Request, s *session) error {
	plain, err := marshalSession(s)
	if err != nil {
		return err
	}
	sealed, err := h.sealer.seal(r.Context(), sessionPurpose, plain)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name:     h.cookies(r).session,
		Value:    sealed,
		Path:     "/",
		Expires:  s.Expires,
		Secure:   h.secureCookies(r),
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	return nil
}

func (h *Handler) clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: h.cookies(r).session, Value: "", Path: "/", MaxAge: -1,
		Secure: h.secureCookies(r), HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}
