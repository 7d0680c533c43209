package stepup

import (
	"html/template"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

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

// renderFailure refuses a login with a short page (or hands it to
// handle_errors with {http.stepup.error} login_failed, the message in
// {http.stepup.error_description} and the reason in {http.stepup.reason});
// the details go to the log. Nothing shown comes from the IdP or the
// request unfiltered.
func (h *Handler) renderFailure(w http.ResponseWriter, r *http.Request, f *loginFailure) error {
	h.logger.Warn("step-up refused", zap.String("reason", f.reason), zap.Int("status", f.status), zap.Error(f.err), logRequest(r))
	title := "Sign-in refused"
	switch {
	case f.status == http.StatusServiceUnavailable:
		title = "Sign-in temporarily unavailable"
		w.Header().Set("Retry-After", "5")
	case f.status >= 500:
		title = "Sign-in failed"
	}
	w.Header().Set("Cache-Control", "no-store")
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set("http.stepup.reason", f.reason)
	}
	return h.refuse(w, r, refusal{status: f.status, code: errLoginFailed, description: f.msg, err: f,
		page: &page{Title: title, Message: f.msg, Reason: f.reason}})
}
