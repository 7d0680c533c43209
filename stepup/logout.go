package stepup

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"

	"go.uber.org/zap"
)

// serveLogout ends the session on a same-origin POST and, when idp_logout is
// on and the IdP advertises an end_session_endpoint, continues there. A GET
// only shows a confirmation form: a link, image or iframe on any other site
// could otherwise sign users out (logout CSRF).
func (h *Handler) serveLogout(w http.ResponseWriter, r *http.Request) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return h.confirmLogout(w)
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return nil
	}
	if !h.sameOrigin(r) {
		h.logger.Warn("logout refused: cross-site request", zap.String("reason", "origin"), logRequest(r))
		const msg = "This sign-out request did not come from this site."
		return h.refuse(w, r, refusal{status: http.StatusForbidden, code: errAccessDenied, description: msg,
			err: errors.New("logout: cross-site request"), page: &page{Title: "Sign-out refused", Message: msg, Reason: "origin"}})
	}
	h.sessions.Clear(w, r)
	w.Header().Set("Cache-Control", "no-store")
	target := h.PostLogoutRedirect
	if h.IdPLogout {
		if d, err := h.idp.Discover(r.Context()); err == nil && d.EndSessionEndpoint() != "" {
			target = h.endSessionURL(r, d.EndSessionEndpoint())
		} else if err != nil {
			h.logger.Warn("logout: identity provider unavailable; local session cleared only", zap.Error(err))
		}
	}
	h.logger.Info("logout", logRequest(r))
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}

// endSessionURL is the RP-Initiated Logout request. stepup keeps no ID
// token (cookies carry claims, never tokens), so it identifies itself with
// client_id, which OpenID Connect RP-Initiated Logout 1.0 (§2) accepts in
// place of id_token_hint for validating post_logout_redirect_uri.
func (h *Handler) endSessionURL(r *http.Request, endpoint string) string {
	q := url.Values{
		"client_id":                {h.Provider.ClientID},
		"post_logout_redirect_uri": {h.origin(r) + h.PostLogoutRedirect},
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return h.PostLogoutRedirect
	}
	for k, v := range u.Query() {
		if q.Get(k) == "" {
			q[k] = v
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// sameOrigin reports whether a POST comes from a page of this site. Browsers
// send Origin on every cross-origin POST (and Sec-Fetch-Site on modern
// ones); a request with neither is not a browser's cross-site form.
func (h *Handler) sameOrigin(r *http.Request) bool {
	if origin := r.Header.Get("Origin"); origin != "" {
		return origin == h.origin(r)
	}
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
		return true
	}
	return false
}

var logoutPage = template.Must(template.New("logout").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Sign out</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}button{font:inherit;padding:.4rem 1rem}</style></head>
<body><h1>Sign out</h1><p>Do you want to sign out?</p>
<form method="post" action="{{.Action}}"><button type="submit" id="confirm-signout">Sign out</button></form>
<p><a href="/">Stay signed in</a></p></body></html>
`))

// confirmLogout answers a GET of the logout path with a form that POSTs
// back; the page may not be framed, so another site cannot trick a click.
func (h *Handler) confirmLogout(w http.ResponseWriter) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "frame-ancestors 'none'; form-action 'self'")
	w.WriteHeader(http.StatusOK)
	return logoutPage.Execute(w, map[string]string{"Action": h.LogoutPath})
}
