package backend

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"time"
)

//go:embed web
var web embed.FS

// pages are parsed once, each with the shared layout and parts.
var pages = func() map[string]*template.Template {
	m := map[string]*template.Template{}
	for _, name := range []string{"index", "admin", "transfer", "settings"} {
		m[name] = template.Must(template.ParseFS(web, "web/layout.html", "web/parts.html", "web/"+name+".html"))
	}
	return m
}()

// view is what every page template gets.
type view struct {
	Status         int // default 200
	Title          string
	Path           string
	Who            *Identity
	Age            time.Duration
	MFA            string
	TransferMaxAge string
	SettingsMaxAge string
	Transfers      []Transfer
	Settings       Settings
	Result         string // a form's outcome
	ResultOK       bool
	To, Amount     string // the transfer form's values after a refusal
	Email          string // the settings form's values after a refusal
	DailyLimit     string
}

func (s *server) render(w http.ResponseWriter, r *http.Request, name string, v view) {
	v.Path = r.URL.Path
	v.MFA = s.cfg.MFA
	v.TransferMaxAge = s.cfg.TransferMaxAge
	v.SettingsMaxAge = s.cfg.SettingsMaxAge
	v.Age = v.Who.Age(s.cfg.Now())
	var buf bytes.Buffer
	if err := pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		s.cfg.Logf("rendering %s: %v", name, err)
		http.Error(w, "template error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store") // pages show who is signed in
	if v.Status != 0 {
		w.WriteHeader(v.Status)
	}
	_, _ = w.Write(buf.Bytes())
}
