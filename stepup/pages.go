package stepup

import (
	"html/template"
	"net/http"

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

// renderFailure shows a refused login as a short page; the details go to the
// log. Nothing on the page comes from the IdP or the request unfiltered.
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
	return h.renderPage(w, f.status, title, f.msg, f.reason)
}

// renderPage writes a short explanation page.
func (h *Handler) renderPage(w http.ResponseWriter, status int, title, msg, reason string) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return failurePage.Execute(w, map[string]string{"Title": title, "Message": msg, "Reason": reason})
}
