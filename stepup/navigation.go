package stepup

import (
	"net/http"
	"strings"
)

// isNavigation reports whether the request is a browser navigating to a
// page, the only kind of request we answer with a redirect to the IdP.
// Anything else (fetch/XHR, non-GET, an API client) must not be redirected:
// it could not follow, and a POST must never be replayed after a login.
func isNavigation(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if mode := r.Header.Get("Sec-Fetch-Mode"); mode != "" {
		return mode == "navigate"
	}
	if r.Header.Get("X-Requested-With") != "" {
		return false
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}
