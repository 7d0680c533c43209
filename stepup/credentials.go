package stepup

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// credentials are what a request presented: a verified bearer token or a
// session cookie, as a session (nil without one).
type credentials struct {
	s      *session.Session
	bearer bool
}

// readCredentials reads a bearer token (API clients) or the session
// cookie. It answers the request itself (answered true) when the
// credentials settle it: a bearer token that does not verify on a path a
// rule covers, or a revocation list too stale to trust.
//
// On a path no rule covers, a bearer token is ours to judge only when
// bearer tokens are enabled, and one that does not verify is ignored: an
// upstream API there may do its own bearer auth with other tokens.
func (h *Handler) readCredentials(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, repl *caddy.Replacer, req *decision.Requirement) (c credentials, answered bool, err error) {
	if token, ok := bearerToken(r); ok && (req != nil || len(h.BearerAudiences) > 0) {
		s, err := h.verifyBearer(r, token)
		switch {
		case err == nil:
			return credentials{s: s, bearer: true}, false, nil
		case req != nil:
			return c, true, h.refuseBearer(w, r, next, repl, req, err)
		}
	}
	s, err := h.checkRevoked(w, h.readSession(r), req != nil)
	if err != nil {
		return c, true, err
	}
	return credentials{s: s}, false, nil
}

// claimsOf is what the decision reads of a session; a nil session has none.
func claimsOf(s *session.Session) decision.Claims {
	if s == nil {
		return decision.Claims{}
	}
	return decision.Claims{Subject: s.Subject, ACR: s.ACR, AMR: s.AMR, AuthTime: s.AuthTime, Issued: s.Issued,
		Expires: s.Expires, LoginRule: s.LoginRule, FreshSpent: s.FreshSpent}
}
