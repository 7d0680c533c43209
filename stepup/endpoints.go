package stepup

import (
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// serveEndpoint answers requests for stepup's own endpoints (login,
// callback, logout, the form resume page, back-channel logout, the
// assertion keys); ours is false for every other request.
func (h *Handler) serveEndpoint(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) (ours bool, err error) {
	switch r.URL.Path {
	case h.CallbackPath:
		return true, h.serveCallback(w, r)
	case h.LoginPath:
		return true, h.serveLogin(w, r)
	case h.LogoutPath:
		return true, h.serveLogout(w, r)
	case h.resumePath():
		return true, h.serveResume(w, r, next)
	case h.BackchannelLogoutPath:
		if h.BackchannelLogoutPath != "" {
			return true, h.serveBackchannelLogout(w, r)
		}
	}
	if h.asserter != nil && r.URL.Path == h.asserter.jwksPath {
		return true, h.serveJWKS(w, r)
	}
	return false, nil
}
