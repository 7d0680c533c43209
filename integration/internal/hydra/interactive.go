package hydra

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Interactive switches the login app between deciding each login at once
// with the OnLogin function (false, the default: HTTP redirects only) and
// showing a sign-in page for a browser to click through (true).
//
// The page shows what the relying party asked for (client, acr_values,
// max_age, prompt, login_hint) and a subject field that starts as the
// request's login_hint, else the subject OnLogin decides. Its buttons sign
// the subject in with a password (acr urn:stepup:pwd, amr [pwd]) or with a
// password and a one-time code (acr urn:stepup:mfa, amr [pwd otp]), or
// cancel (the login is rejected with access_denied); "Keep me signed in"
// makes Hydra remember the login. Nothing is checked: the button says what
// the user did. Every page shown is a login request (LoginRequests).
// Remembered (skipped) logins are decided by OnLogin without a page, as a
// real IdP would. Authorize and CodeFlow only follow redirects, so they
// cannot get past the page.
func (s *Server) Interactive(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.interactive = on
}

// signInMethod is one of the sign-in page's buttons: what the user claims
// to have done.
type signInMethod struct {
	Value, Label string
	ACR          string
	AMR          []string
}

// signInMethods are the sign-in page's buttons, weakest first.
var signInMethods = []signInMethod{
	{Value: "pwd", Label: "Sign in with password", ACR: "urn:stepup:pwd", AMR: []string{"pwd"}},
	{Value: "mfa", Label: "Sign in with password + one-time code", ACR: "urn:stepup:mfa", AMR: []string{"pwd", "otp"}},
}

// cancelMethod is the value of the page's Cancel button.
const cancelMethod = "cancel"

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to the test IdP</title>
<style>
body{font:16px/1.4 sans-serif;margin:0;background:#eef0f3;color:#111}
main{max-width:30rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0003}
h1{font-size:1.4rem;margin-top:0}
dl{display:grid;grid-template-columns:auto 1fr;gap:.3rem 1rem;font-size:.9rem;color:#444}
dt{font-weight:bold}dd{margin:0;font-family:monospace;word-break:break-all}
label{display:block;margin:1rem 0 .3rem}
input[type=text]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
button{display:block;width:100%;margin-top:.75rem;padding:.6rem;font-size:1rem}
#cancel{background:none;border:none;color:#555;text-decoration:underline}
</style></head>
<body><main>
<h1>Sign in to the test IdP</h1>
<dl>
<dt>Client</dt><dd id="client">{{.ClientID}}</dd>
<dt>Requested acr_values</dt><dd id="acr-values">{{or .ACRValues "(none)"}}</dd>
<dt>max_age</dt><dd id="max-age">{{or .MaxAge "(none)"}}</dd>
<dt>prompt</dt><dd id="prompt">{{or .Prompt "(none)"}}</dd>
<dt>login_hint</dt><dd id="login-hint">{{or .LoginHint "(none)"}}</dd>
</dl>
<form method="post" action="/login">
<input type="hidden" name="login_challenge" value="{{.Challenge}}">
<label for="subject">Subject</label>
<input type="text" id="subject" name="subject" value="{{.Subject}}" required autocomplete="off">
<label><input type="checkbox" id="remember" name="remember"> Keep me signed in</label>
{{range .Methods}}<button type="submit" id="{{.Value}}" name="method" value="{{.Value}}">{{.Label}}</button>
{{end}}<button type="submit" id="cancel" name="method" value="cancel" formnovalidate>Cancel</button>
</form>
</main></body></html>
`))

// renderLoginPage shows the sign-in page for req; d is what OnLogin
// decided, which only suggests the subject.
func (s *Server) renderLoginPage(w http.ResponseWriter, req LoginRequest, d LoginDecision) {
	subject := req.LoginHint
	if subject == "" {
		subject = d.Subject
	}
	if subject == "" {
		subject = DefaultSubject
	}
	var page bytes.Buffer
	err := loginPage.Execute(&page, map[string]any{
		"ClientID":  req.ClientID,
		"ACRValues": strings.Join(req.ACRValues, " "),
		"MaxAge":    req.MaxAge,
		"Prompt":    req.Prompt,
		"LoginHint": req.LoginHint,
		"Challenge": req.Challenge,
		"Subject":   subject,
		"Methods":   signInMethods,
	})
	if err != nil {
		s.appError(w, "render sign-in page: %v", err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(page.Bytes())
}

// handleLoginForm decides a login as the sign-in page's form says, the
// same way the automatic path does.
func (s *Server) handleLoginForm(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.appError(w, "sign-in form: %v", err)
		return
	}
	d, err := formDecision(r.PostForm)
	if err != nil {
		s.appError(w, "sign-in form: %v", err)
		return
	}
	req, err := s.loginRequest(r.PostForm.Get("login_challenge"))
	if err != nil {
		s.appError(w, "%v", err)
		return
	}
	s.completeLogin(w, r, req, d)
}

// formDecision turns a submitted sign-in form into a LoginDecision.
func formDecision(form url.Values) (LoginDecision, error) {
	method := form.Get("method")
	if method == cancelMethod {
		return LoginDecision{Reject: "access_denied", RejectDescription: "the user cancelled the sign-in"}, nil
	}
	i := slices.IndexFunc(signInMethods, func(m signInMethod) bool { return m.Value == method })
	if i < 0 {
		return LoginDecision{}, fmt.Errorf("unknown method %q", method)
	}
	subject := strings.TrimSpace(form.Get("subject"))
	if subject == "" {
		return LoginDecision{}, errors.New("empty subject")
	}
	m := signInMethods[i]
	return LoginDecision{Subject: subject, ACR: m.ACR, AMR: slices.Clone(m.AMR), Remember: form.Get("remember") != ""}, nil
}
