package stepup

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// Error codes in {http.stepup.error} besides the RFC 9470/6750 ones.
const (
	errAccessDenied = "access_denied"           // the risk engine refused the request
	errUnavailable  = "temporarily_unavailable" // the IdP is needed and down
	errLoginFailed  = "login_failed"            // the callback refused a login
	errBadRequest   = "invalid_request"         // our endpoints, used wrongly
)

// refusal is an answer that ends a request: a challenge, a denial, an
// outage or a refused login. Headers the client needs (WWW-Authenticate,
// Retry-After, Cache-Control) are set on the response before it is given.
type refusal struct {
	status      int
	code        string // {http.stepup.error}
	description string // {http.stepup.error_description}: safe to show
	err         error  // for Caddy's error log; never shown
	json        any    // the body for API clients, or nil
	page        *page  // the body for browsers, or nil (then plain text)
}

// refuse hands the refusal to Caddy's error pipeline, as Caddy's own
// authentication handler does, when the site has handle_errors routes for
// this request: it sets the {http.stepup.*} placeholders and returns
// caddyhttp.Error, so those routes render it. A site without them still
// gets a useful body (the RFC 9470 JSON for API clients, a short page for
// browsers), written here: Caddy's default for an error is an empty body.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, f refusal) error {
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set("http.stepup.error", f.code)
		repl.Set("http.stepup.error_description", f.description)
	}
	// A refusal is about this request and this session: never cached.
	w.Header().Set("Cache-Control", "no-store")
	if f.err == nil {
		f.err = errors.New(f.code + ": " + f.description)
	}
	if errorRoutesFor(r) {
		return caddyhttp.Error(f.status, f.err)
	}
	switch {
	case f.json != nil:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false) // a JSON content type is never sniffed as HTML; keep URLs readable
		return enc.Encode(f.json)
	case f.page != nil:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(f.status)
		return failurePage.Execute(w, f.page)
	}
	http.Error(w, f.description, f.status)
	return nil
}

// errorRoutesFor reports whether the server has handle_errors routes whose
// matchers (in a Caddyfile, the site's host) match this request. A status
// filter inside them (`handle_errors 404`) is not looked at: a site that
// has handle_errors receives every stepup refusal through it.
func errorRoutesFor(r *http.Request) bool {
	srv, _ := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	if srv == nil || srv.Errors == nil {
		return false
	}
	for _, route := range srv.Errors.Routes {
		if ok, err := route.MatcherSets.AnyMatchWithError(r); ok && err == nil {
			return true
		}
	}
	return false
}
