package idp

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
)

//go:embed pages.html
var pageFiles embed.FS

var pages = template.Must(template.ParseFS(pageFiles, "pages.html"))

// page is what the login templates show.
type page struct {
	Title    string
	Step     string // template name: password, otp
	ID       string // the authorization request
	Username string
	Users    []User
	Why      string
	Problem  string
	Asked    []param // the authorization request's parameters, for the curious
	Message  string
	Back     string // a "Back to the site" link, on message pages
}

type param struct{ Name, Value string }

// render writes a template; it renders into a buffer first so a template
// error is a clean 500, not half a page.
func render(w http.ResponseWriter, status int, name string, p page) {
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, p); err != nil {
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Frame-Options", "DENY") // a login form must not be framed
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
