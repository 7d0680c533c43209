package stepup

import (
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-stepup/caddy-stepup/stepup/provider"
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

// writeUnavailable answers 503 with Retry-After: the IdP is needed and down,
// and a protected route must not open because of it.
func (h *Handler) writeUnavailable(w http.ResponseWriter, r *http.Request, retryAfter time.Duration, err error) error {
	w.Header().Set("Retry-After", strconv.Itoa(int(retryAfter.Round(time.Second)/time.Second)))
	w.Header().Set("Cache-Control", "no-store")
	return h.refuse(w, r, refusal{status: http.StatusServiceUnavailable, code: errUnavailable,
		description: "The identity provider is unavailable; try again shortly.", err: err})
}

// outageLogEvery spaces the warnings an IdP outage writes: every protected
// request that needs a login is refused while it lasts, and a line each
// would bury everything else in the log. Each line says how many refusals
// it stands for; the requests metric still counts every one.
const outageLogEvery = 10 * time.Second

func (h *Handler) idpDown(w http.ResponseWriter, r *http.Request, err error) error {
	wait, ok := provider.IsUnavailable(err)
	if !ok {
		return caddyhttp.Error(http.StatusServiceUnavailable, err)
	}
	if log, left := h.outageLog.allow(h.now()); log {
		h.logger.Warn("identity provider unavailable; protected request refused",
			zap.Error(err), zap.Int("refused_since_last_warning", left))
	}
	return h.writeUnavailable(w, r, wait, err)
}

var failurePage = template.Must(template.New("failure").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{.Title}}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}code{background:#f3f3f3;padding:.1rem .3rem}</style></head>
<body><h1>{{.Title}}</h1><p>{{.Message}}</p><p><a href="/">Back to the start page</a></p>
<p><small>Reference: <code>{{.Reason}}</code></small></p></body></html>
`))

// page is what the failure page shows.
type page struct {
	Title   string
	Message string
	Reason  string
}
