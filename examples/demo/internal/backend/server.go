// Package backend is the demo's sample application: a tiny "bank" with a
// public home page, an admin console, a settings page, a money transfer and
// a JSON API. It has no login code: Caddy's stepup handler sits in front of
// it and tells it who the user is in a signed step-up assertion, which the
// backend verifies with the keys Caddy publishes.
package backend

import (
	"encoding/json"
	"io/fs"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddy-stepup/caddy-stepup/verify"
)

// Config describes the edge's rules, so the pages can explain them, and
// where the backend logs.
type Config struct {
	MFA            string // the acr the admin rule demands
	TransferMaxAge string // the transfer rule's max_age, as in the Caddyfile
	SettingsMaxAge string // the settings rule's max_age, as in the Caddyfile
	// Verifier checks the edge's assertions (verify.New with the JWKS URL
	// of the protected site, its origin and Audience). Required: without
	// it every page but / and /static is refused.
	Verifier *verify.Verifier
	Logf     func(format string, args ...any)
	Now      func() time.Time
}

type server struct {
	cfg    Config
	ledger ledger
}

// New returns the application's handler.
func New(cfg Config) http.Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	s := &server{cfg: cfg}
	static, _ := fs.Sub(web, "web")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("GET /admin", s.needIdentity(s.admin))
	mux.HandleFunc("GET /transfer", s.needIdentity(s.transferPage))
	mux.HandleFunc("POST /transfer", s.needIdentity(s.transfer))
	mux.HandleFunc("GET /settings", s.needIdentity(s.settingsPage))
	mux.HandleFunc("POST /settings", s.needIdentity(s.saveSettings))
	mux.HandleFunc("GET /api/me", s.needIdentity(s.me))
	mux.HandleFunc("GET /api/transfers", s.needIdentity(s.transfers))
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	return mux
}

// needIdentity refuses requests without a valid assertion from the edge:
// every route but / and /static sits behind a stepup rule, so a request
// without one did not come through Caddy, whatever headers it carries.
func (s *server) needIdentity(next func(http.ResponseWriter, *http.Request, *Identity)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.Verifier == nil {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "no identity: this backend is meant to be reached through Caddy"})
			return
		}
		c, err := s.cfg.Verifier.VerifyRequest(r)
		if err != nil {
			s.cfg.Logf("refused %s %s: %v", r.Method, r.URL.Path, err)
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "no valid step-up assertion: this backend is meant to be reached through Caddy"})
			return
		}
		next(w, r, identityFrom(c))
	}
}

func (s *server) index(w http.ResponseWriter, r *http.Request) {
	// No rule covers /, so the edge strips identity headers here: the page
	// asks /api/me from the browser instead.
	s.render(w, r, "index", view{Title: "Home"})
}

func (s *server) admin(w http.ResponseWriter, r *http.Request, id *Identity) {
	s.render(w, r, "admin", view{Title: "Admin", Who: id, Transfers: s.ledger.recent("", 20)})
}

func (s *server) transferPage(w http.ResponseWriter, r *http.Request, id *Identity) {
	v := view{Title: "Transfer", Who: id, Transfers: s.ledger.recent(id.User, 10)}
	// Back from a transfer (?sent=<its number>): say what was sent. Only
	// the number is in the URL, never the amount or the recipient.
	if n, err := strconv.Atoi(r.URL.Query().Get("sent")); err == nil {
		for _, t := range v.Transfers {
			if t.ID == n {
				v.Result, v.ResultOK = sentMessage(t), true
			}
		}
	}
	s.render(w, r, "transfer", v)
}

func sentMessage(t Transfer) string {
	return "Sent " + strconv.FormatFloat(t.Amount, 'f', 2, 64) + " to " + t.To + " (transfer #" + strconv.Itoa(t.ID) + ")."
}

func (s *server) settingsPage(w http.ResponseWriter, r *http.Request, id *Identity) {
	v := view{Title: "Settings", Who: id, Settings: s.ledger.settingsOf(id.User)}
	if r.URL.Query().Has("saved") {
		v.Result, v.ResultOK = "Saved.", true
	}
	s.render(w, r, "settings", v)
}

// transfer moves money: a plain HTML form POST. When the sign-in is too
// old, the edge holds the submission across the step-up and sends it here
// only when the user confirms it (caddy-stepup's held forms), so the page
// needs no script to keep the values.
func (s *server) transfer(w http.ResponseWriter, r *http.Request, id *Identity) {
	if !readForm(w, r, "send the transfer form") {
		return
	}
	to, amountText := strings.TrimSpace(r.PostForm.Get("to")), strings.TrimSpace(r.PostForm.Get("amount"))
	failed := func(msg string) {
		s.render(w, r, "transfer", view{Status: http.StatusBadRequest, Title: "Transfer", Who: id, Transfers: s.ledger.recent(id.User, 10), Result: msg, To: to, Amount: amountText})
	}
	amount, err := strconv.ParseFloat(amountText, 64)
	if err != nil {
		failed("The amount must be a number.")
		return
	}
	t, err := s.ledger.transfer(id.User, to, amount, s.cfg.Now())
	if err != nil {
		failed(err.Error())
		return
	}
	s.cfg.Logf("transfer #%d: %s sent %.2f to %s (signed in %s ago)", t.ID, t.From, t.Amount, t.To, id.Age(s.cfg.Now()))
	// Post/Redirect/Get: reloading the result page sends nothing again.
	http.Redirect(w, r, "/transfer?sent="+strconv.Itoa(t.ID), http.StatusSeeOther)
}

// saveSettings is a plain HTML form POST too, held across a step-up like
// the transfer.
func (s *server) saveSettings(w http.ResponseWriter, r *http.Request, id *Identity) {
	if !readForm(w, r, "send the settings form") {
		return
	}
	email, limitText := strings.TrimSpace(r.PostForm.Get("email")), strings.TrimSpace(r.PostForm.Get("daily_limit"))
	failed := func(msg string) {
		s.render(w, r, "settings", view{Status: http.StatusBadRequest, Title: "Settings", Who: id, Result: msg,
			Settings: s.ledger.settingsOf(id.User), Email: email, DailyLimit: limitText})
	}
	limit, err := strconv.ParseFloat(limitText, 64)
	if err != nil {
		failed("The daily limit must be a number.")
		return
	}
	if err := s.ledger.saveSettings(id.User, Settings{Email: email, DailyLimit: limit}); err != nil {
		failed(err.Error())
		return
	}
	s.cfg.Logf("settings of %s saved", id.User)
	http.Redirect(w, r, "/settings?saved", http.StatusSeeOther)
}

// readForm reads a same-origin form POST; it answers and returns false
// otherwise. Forms from other sites are refused here too (the edge never
// holds them, and its session cookie is SameSite).
func readForm(w http.ResponseWriter, r *http.Request, what string) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		http.Error(w, "accepted from this site's own form only", http.StatusForbidden)
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" || r.ParseForm() != nil {
		http.Error(w, what, http.StatusBadRequest)
		return false
	}
	return true
}

func (s *server) me(w http.ResponseWriter, r *http.Request, id *Identity) {
	// The decoded assertion too, for the home page to show what the
	// backend was told and verified.
	writeJSON(w, http.StatusOK, map[string]any{
		"user": id.User, "acr": id.ACR, "amr": id.AMR, "auth_time": id.AuthTime.Unix(), "rule": id.Rule,
		"assertion": id.Claims,
	})
}

func (s *server) transfers(w http.ResponseWriter, r *http.Request, id *Identity) {
	writeJSON(w, http.StatusOK, s.ledger.recent(id.User, 50))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
