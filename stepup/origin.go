package stepup

import "net/http"

// redirectURI is the callback on the host the browser is using; the IdP must
// have it registered, which is what makes it safe to derive from the request.
func (h *Handler) redirectURI(r *http.Request) string {
	return h.origin(r) + h.CallbackPath
}

// origin is the scheme and host the browser is using: https, or http for a
// plain-HTTP loopback site under insecure_loopback_http. Same-origin checks
// and the redirect URI compare with it.
func (h *Handler) origin(r *http.Request) string {
	scheme := "https"
	if h.cookies.PlainLoopback(r) {
		scheme = "http"
	}
	return scheme + "://" + r.Host
}
