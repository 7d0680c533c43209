package stepup

import (
	"bytes"
	"html/template"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
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

type field struct{ Name, Value string }

// Field values are shown only when short and plainly not secret.
const shortValue = 40

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

// confirmHeld sends or discards a held form. The POST must come from our
// own page: same origin, this browser's hold cookie, the page's one-time
// token and the user the form was held for.
func (h *Handler) confirmHeld(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if !sameOrigin(r, h.origin(r)) {
		return h.resumeFailure(w, r, http.StatusForbidden, "origin", "This confirmation did not come from this site.")
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		return h.resumeFailure(w, r, http.StatusBadRequest, "form", "The confirmation could not be read.")
	}
	id, action := r.PostForm.Get("id"), r.PostForm.Get("action")
	if action != "send" && action != "discard" {
		return h.resumeFailure(w, r, http.StatusBadRequest, "form", "Choose Send or Discard.")
	}
	hr, err := h.loadHeld(r.Context(), r, id)
	if err != nil {
		return h.heldError(w, r, err)
	}
	if !constantTimeEqual(r.PostForm.Get("token"), hr.Token) {
		return h.resumeFailure(w, r, http.StatusForbidden, "token", "This confirmation is not the one shown to you.")
	}
	if reason := h.heldMismatch(r, id, hr); reason != "" {
		return h.resumeFailure(w, r, http.StatusForbidden, reason, mismatchMessage(reason))
	}
	ok, err := h.takeHeld(r.Context(), id)
	if err != nil {
		return h.resumeFailure(w, r, http.StatusServiceUnavailable, "state", "The held form could not be checked; try again.")
	}
	if !ok {
		return h.heldError(w, r, errNotHeld)
	}
	if action == "discard" {
		h.holdMetrics().WithLabelValues("discarded").Inc()
		h.logger.Info("held form discarded", logRule(hr.Rule), logSubject(h, hr.Subject), logClientIP(h, r), logRequest(r))
		w.Header().Set("Cache-Control", "no-store")
		return h.refuse(w, r, refusal{status: http.StatusOK, code: "discarded", description: "The form was discarded; nothing was sent.",
			page: &page{Title: "Form discarded", Message: "The form was discarded; nothing was sent.", Reason: "discarded"}})
	}
	h.holdMetrics().WithLabelValues("resumed").Inc()
	r2 := newResumeRequest(r, hr)
	if !h.KeepCookies {
		// The page's request carried this browser's hold cookies; the
		// form's own request never did, and the upstream has no use for them.
		dropHoldCookies(r2.Header)
	}
	h.logger.Info("held form resumed", logRule(hr.Rule), logSubject(h, hr.Subject), logClientIP(h, r), logRequest(r2))
	return h.ServeHTTP(w, r2, next)
}

// heldMismatch names why the signed-in user or site may not send hr, the
// form held as id.
func (h *Handler) heldMismatch(r *http.Request, id string, hr *heldRequest) string {
	if hr.Origin != h.origin(r) {
		return "origin"
	}
	s := h.readSession(r)
	if !s.Valid(h.now()) {
		return "subject"
	}
	if hr.Subject != "" && !constantTimeEqual(hr.Subject, s.Subject) {
		return "subject"
	}
	if h.checkHeldFlow(r.Context(), id, heldFlowParam(r), hr, s) != nil {
		return "flow"
	}
	return ""
}

func mismatchMessage(reason string) string {
	if reason == "flow" {
		return "This form was held for another sign-in than this one; it cannot be sent from here. Fill it in again."
	}
	return "This form was held for another user or site; it cannot be sent from here."
}

func (h *Handler) heldError(w http.ResponseWriter, r *http.Request, err error) error {
	if err == errNotHeld {
		return h.resumeFailure(w, r, http.StatusGone, "expired", "This form is no longer held: it was already sent or discarded, it expired, or it was held in another browser. Fill it in again.")
	}
	return h.resumeFailure(w, r, http.StatusServiceUnavailable, "storage", "The held form could not be read; try again.")
}

func (h *Handler) resumeFailure(w http.ResponseWriter, r *http.Request, status int, reason, msg string) error {
	h.holdMetrics().WithLabelValues("refused").Inc()
	h.logger.Info("held form refused", zap.String("reason", reason), zap.Int("status", status), logRequest(r))
	return h.refuse(w, r, refusal{status: status, code: errBadRequest, description: msg,
		page: &page{Title: "The form was not sent", Message: msg, Reason: "resume_" + reason}})
}

// sameOrigin: Sec-Fetch-Site when the browser sends it, else Origin.
func sameOrigin(r *http.Request, origin string) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	return r.Header.Get("Origin") == origin
}

// heldFields lists the form's field names, with the value only when it is
// short, printable and its name does not suggest a secret. File fields show
// the file name's absence: only "(file)".
func heldFields(hr *heldRequest) []field {
	var out []field
	add := func(name, value string) {
		if len(out) >= 50 {
			return
		}
		if len(value) > shortValue || !utf8.ValidString(value) || secretName(name) {
			value = ""
		}
		out = append(out, field{Name: name, Value: value})
	}
	mt, params, _ := mime.ParseMediaType(hr.ContentType)
	if mt == "multipart/form-data" {
		mr := multipart.NewReader(bytes.NewReader(hr.Body), params["boundary"])
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			if p.FileName() != "" {
				out = append(out, field{Name: p.FormName(), Value: "(file)"})
				continue
			}
			var b [shortValue + 1]byte
			n, _ := p.Read(b[:])
			add(p.FormName(), string(b[:n]))
		}
		return out
	}
	q, _ := url.ParseQuery(string(hr.Body))
	for _, name := range slices.Sorted(maps.Keys(q)) {
		for _, v := range q[name] {
			add(name, v)
		}
	}
	return out
}

func secretName(name string) bool {
	n := strings.ToLower(name)
	for _, s := range []string{"pass", "secret", "token", "pin", "otp", "code", "key", "card", "cvv", "iban", "ssn", "csrf"} {
		if strings.Contains(n, s) {
			return true
		}
	}
	return false
}
