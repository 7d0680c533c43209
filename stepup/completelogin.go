package stepup

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/caddy-stepup/caddy-stepup/stepup/provider"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// completeLogin returns the new session, or a *loginFailure.
func (h *Handler) completeLogin(r *http.Request) (*session.Session, *flowState, error) {
	q := r.URL.Query()
	f, err := h.readFlow(r.Context(), r, q.Get("state"))
	if err != nil {
		if errors.Is(err, errFlow) {
			return nil, nil, fail(http.StatusBadRequest, "state", "This login was not started by this browser, or it took too long. Go back and try again.", err)
		}
		return nil, nil, fail(http.StatusServiceUnavailable, "internal", "The login could not be checked; try again.", err)
	}
	if code := q.Get("error"); code != "" {
		return nil, f, fail(http.StatusForbidden, "idp", "The identity provider did not complete the login ("+oauthErrorCode(code)+").", fmt.Errorf("idp returned error %q", oauthErrorCode(code)))
	}
	code := q.Get("code")
	if code == "" {
		return nil, f, fail(http.StatusBadRequest, "code", "The identity provider returned no authorization code.", errors.New("callback without code"))
	}
	raw, err := h.idp.Exchange(r.Context(), code, f.Verifier, h.redirectURI(r), h.clientSecret)
	var refused *provider.TokenRefused
	switch {
	case errors.As(err, &refused):
		return nil, f, fail(http.StatusUnauthorized, "token", "The identity provider refused the login.", fmt.Errorf("token endpoint: %s", oauthErrorCode(refused.Code)))
	case errors.Is(err, provider.ErrNoIDToken):
		return nil, f, fail(http.StatusUnauthorized, "token", "The identity provider returned no ID token.", err)
	case err != nil:
		// The IdP failing (unreachable, 5xx) is an outage, not a verdict on this login.
		return nil, f, fail(http.StatusServiceUnavailable, "idp", "The identity provider is unavailable; try again shortly.", err)
	}
	idt, err := h.idp.VerifyIDToken(r.Context(), raw, f.Nonce)
	if err != nil {
		return nil, f, idTokenRefused(err)
	}
	s, err := h.checkIDToken(idt, f)
	return s, f, err
}
