package stepup

import (
	"net/http"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// credentials are what a request presented: a verified bearer token or a
// session cookie, as a session (nil without one), or a bearer token that
// did not verify on a path a rule covers (refused: why).
type credentials struct {
	s       *session.Session
	bearer  bool
	refused error
}

// readCredentials reads a bearer token (API clients) or the session
// cookie. An error answers the request: the revocation list is too stale
// to trust a session on a path a rule covers.
//
// On a path no rule covers, a bearer token is ours to judge only when
// bearer tokens are enabled, and one that does not verify is ignored: an
// upstream API there may do its own bearer auth with other tokens.
func (h *Handler) readCredentials(w http.ResponseWriter, r *http.Request, req *decision.Requirement) (credentials, error) {
	if token, ok := bearerToken(r); ok && (req != nil || len(h.BearerAudiences) > 0) {
		s, err := h.verifyBearer(r, token)
		if err == nil {
			// A token of a revoked subject, issued up to the revocation, is
			// refused like one that does not verify (statewire.go).
			if s, err = h.checkRevoked(w, s, req != nil); err != nil {
				return credentials{}, err
			}
			if s == nil {
				err = errBearerRevoked
			}
		}
		switch {
		case err == nil:
			return credentials{s: s, bearer: true}, nil
		case req != nil:
			return credentials{bearer: true, refused: err}, nil
		}
	}
	s, err := h.checkRevoked(w, h.readSession(r), req != nil)
	return credentials{s: s}, err
}
