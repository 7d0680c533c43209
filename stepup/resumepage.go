package stepup

import (
	"html/template"
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

var confirmPage = template.Must(template.New("confirm").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Send your form?</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}
h1{font-size:1.4rem}code{background:#f3f3f3;padding:.1rem .3rem}button{font:inherit;padding:.4rem 1rem;margin-right:.5rem}</style></head>
<body><h1>You were sending a form to <code>{{.Path}}</code></h1>
<p>You signed in again before it was sent. Nothing has been sent yet.</p>
<p>Method: <code>{{.Method}}</code></p>
{{if .Fields}}<ul>{{range .Fields}}<li><code>{{.Name}}</code>{{if .Value}}: {{.Value}}{{end}}</li>{{end}}</ul>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="id" value="{{.ID}}"><input type="hidden" name="token" value="{{.Token}}"><input type="hidden" name="flow" value="{{.Flow}}">
<button type="submit" name="action" value="send">Send it now</button>
<button type="submit" name="action" value="discard">Discard</button>
</form></body></html>
`))

type confirmView struct {
	Method, Path, Action, ID, Token, Flow string
	Fields                                []field
}

func (h *Handler) serveResume(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return h.showHeld(w, r)
	case http.MethodPost:
		return h.confirmHeld(w, r, next)
	}
	w.Header().Set("Allow", "GET, HEAD, POST")
	return h.resumeFailure(w, r, http.StatusMethodNotAllowed, "method", "This page only accepts GET and POST.")
}

func (h *Handler) showHeld(w http.ResponseWriter, r *http.Request) error {
	id := r.URL.Query().Get("id")
	hr, err := h.loadHeld(r.Context(), r, id)
	if err != nil {
		return h.heldError(w, r, err)
	}
	if reason := h.heldMismatch(r, id, hr); reason != "" {
		return h.resumeFailure(w, r, http.StatusForbidden, reason, mismatchMessage(reason))
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	return confirmPage.Execute(w, confirmView{Method: hr.Method, Path: hr.Path, Action: h.resumePath(), ID: id, Token: hr.Token, Flow: heldFlowParam(r), Fields: heldFields(hr)})
}
