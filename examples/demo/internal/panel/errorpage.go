package panel

import (
	"encoding/json"
	"html/template"
	"net/http"
	"strconv"
	"strings"
)

var errorPage = template.Must(template.ParseFS(web, "web/error.html"))

// The protected sites' handle_errors routes proxy every refusal here with
// what Caddy knows about it in these headers (the Caddyfile sets them from
// {err.status_code}, {http.stepup.*} and {http.request.uuid}).
const (
	hdrStatus      = "X-Demo-Error-Status"
	hdrCode        = "X-Demo-Error-Code"
	hdrDescription = "X-Demo-Error-Description"
	hdrStepUpURL   = "X-Demo-Error-Step-Up-Url"
	hdrRequestID   = "X-Demo-Request-Id"
	hdrOriginalURI = "X-Demo-Original-Uri"
)

// errorView is what the error page shows.
type errorView struct {
	Status      int
	Title       string
	What        string // what happened, in plain words
	Description string // stepup's error_description
	Next        []link // what the user can do now
	RequestID   string
}

type link struct{ Text, Href, ID string }

// serveError renders a refusal: the RFC 9470 JSON for API clients (what
// stepup itself would have sent), a styled page for people, with the next
// step and the request id that the audit and access logs carry.
func (p *Panel) serveError(w http.ResponseWriter, r *http.Request) {
	status, err := strconv.Atoi(r.Header.Get(hdrStatus))
	if err != nil || status < 400 || status > 599 {
		status = http.StatusInternalServerError
	}
	code, desc, stepUp := r.Header.Get(hdrCode), r.Header.Get(hdrDescription), r.Header.Get(hdrStepUpURL)
	w.Header().Set("Cache-Control", "no-store")
	if !navigation(r) {
		body := map[string]string{"error": code, "error_description": desc}
		if code == "" {
			body["error"] = strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
		}
		if stepUp != "" {
			body["step_up_url"] = stepUp
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(body)
		return
	}
	v := explainError(status, code, desc, stepUp, sameSitePath(r.Header.Get(hdrOriginalURI)))
	v.RequestID = r.Header.Get(hdrRequestID)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = errorPage.Execute(w, v)
}

// explainError says in plain words what a refusal means and what to do.
func explainError(status int, code, desc, stepUp, back string) errorView {
	v := errorView{Status: status, Description: desc}
	again := link{"Try again", back, "again"}
	home := link{"Start page", "/", "home"}
	panel := link{"Decisions (why)", "/demo/", "why"}
	switch code {
	case "access_denied":
		v.Title = "Request refused"
		v.What = "The risk engine scored this request above its deny threshold, so it was refused without asking you to sign in. " +
			"In this demo that comes from the simulator: set Network back to home on the Decisions page, then try again."
		v.Next = []link{panel, again, home}
	case "insufficient_user_authentication", "invalid_token":
		v.Title = "Sign-in needed"
		v.What = "This page needs a sign-in, or a stronger or more recent one, than the one you have."
		if stepUp != "" {
			v.Next = append(v.Next, link{"Sign in", stepUp, "signin"})
		}
		v.Next = append(v.Next, home)
	case "temporarily_unavailable":
		v.Title = "Sign-in service unavailable"
		v.What = "The identity provider does not answer right now, and this page needs it. Nothing was changed; try again in a few seconds."
		v.Next = []link{again, home}
	case "login_failed":
		v.Title = "Sign-in refused"
		v.What = "The sign-in did not complete, so nothing was granted."
		v.Next = []link{again, home}
		if strings.Contains(desc, "still does not meet") {
			v.What += " The identity provider keeps returning a sign-in that is too weak for this page: sign out (here and at the identity provider) and sign in again."
			v.Next = []link{{"Sign out", "/.stepup/logout", "signout-page"}, home}
		}
	default:
		v.Title = http.StatusText(status)
		v.What = "Something went wrong on the way to the app."
		v.Next = []link{again, home}
	}
	return v
}

// sameSitePath keeps a "try again" link on this site.
func sameSitePath(uri string) string {
	if !strings.HasPrefix(uri, "/") || strings.HasPrefix(uri, "//") || strings.HasPrefix(uri, "/\\") || strings.HasPrefix(uri, "/.stepup/") {
		return "/"
	}
	return uri
}

// navigation mirrors stepup: a browser opening a page, not a script.
func navigation(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if mode := r.Header.Get("Sec-Fetch-Mode"); mode != "" {
		return mode == "navigate"
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}
