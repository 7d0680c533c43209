package idp

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// loginUI serves /login?id=<authorization request>: it shows the step the
// request still needs (nextStep decides), checks what the user types, and
// hands the finished request back to the library's callback.
type loginUI struct {
	store    *storage
	sessions *sessions
	users    directory
	provider *op.Provider
	issuer   string
	deliver  func(User, string)
	now      func() time.Time
	logf     func(format string, args ...any)
}

var errTooManyFailures = errors.New("too many failed attempts")

func (ui *loginUI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	// The library's errors and callback URLs need the issuer in the context.
	r = r.WithContext(op.ContextWithIssuer(r.Context(), ui.issuer))
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		ui.show(w, r, r.URL.Query().Get("id"))
	case http.MethodPost:
		ui.submit(w, r)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// show renders the next step, or completes the request when nothing is left.
func (ui *loginUI) show(w http.ResponseWriter, r *http.Request, id string) {
	sess := ui.sessions.get(r)
	now := ui.now()
	var (
		next     step
		snapshot *authRequest
		view     page
		issued   *oneTimeCode
	)
	err := ui.store.update(id, func(a *authRequest) error {
		next = nextStep(a.demand(), a.progress, sess, now)
		switch next {
		case stepDone:
			a.done, a.subject, a.authTime, a.amr = true, sess.User, sess.AuthTime, slices.Clone(sess.AMR)
		case stepOTP:
			if !a.otp.valid(sess.User, now) {
				code, err := newOneTimeCode(sess.User, now)
				if err != nil {
					return err
				}
				a.otp, issued = code, code
			}
		}
		view = ui.pageFor(a, next, sess, now)
		snapshot = a.snapshot()
		return nil
	})
	if err != nil {
		ui.expired(w, err)
		return
	}
	if next != stepDone && snapshot.promptNone() {
		// prompt=none: the site asked not to show any page.
		op.AuthRequestError(w, r, snapshot, oidc.ErrLoginRequired(), ui.provider)
		return
	}
	if issued != nil {
		ui.deliver(ui.users[issued.user], issued.value)
	}
	if next == stepDone {
		how := "with the existing session, no page shown"
		if snapshot.progress.password || snapshot.progress.otp {
			how = "after the login page"
		}
		ui.logf("%s signed in %s: acr=%s amr=%s auth_time=%s (%s ago)", sess.User, how, snapshot.GetACR(),
			strings.Join(snapshot.amr, ","), sess.AuthTime.Format(time.TimeOnly), now.Sub(sess.AuthTime).Round(time.Second))
		http.Redirect(w, r, op.AuthCallbackURL(ui.provider)(r.Context(), id), http.StatusFound)
		return
	}
	render(w, http.StatusOK, next.String(), view)
}

// submit checks a password or a code, then redirects to show (post,
// redirect, get: reloading a page never resubmits a secret).
func (ui *loginUI) submit(w http.ResponseWriter, r *http.Request) {
	if origin := r.Header.Get("Origin"); origin != "" && origin != ui.issuer {
		http.Error(w, "cross-origin form post refused", http.StatusForbidden)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	id, posted := r.PostForm.Get("id"), r.PostForm.Get("step")
	sess := ui.sessions.get(r)
	now := ui.now()
	var (
		user     User
		ok       bool // the password or code was right
		accepted bool // ... and it was the step this request needed
		failed   *page
		snapshot *authRequest
	)
	if posted == stepPassword.String() {
		user, ok = ui.users.check(strings.TrimSpace(r.PostForm.Get("username")), r.PostForm.Get("password"))
	}
	err := ui.store.update(id, func(a *authRequest) error {
		snapshot = a.snapshot()
		expected := nextStep(a.demand(), a.progress, sess, now)
		if posted != expected.String() {
			return nil // a stale form (another tab moved on): show the current step
		}
		if expected == stepOTP {
			ok = a.otp.matches(sess.User, strings.TrimSpace(r.PostForm.Get("code")), now)
			user = ui.users[sess.User]
		}
		if ok {
			accepted = true
			switch expected {
			case stepPassword:
				a.progress.password = true
			case stepOTP:
				a.progress.otp, a.otp = true, nil
			}
			return nil
		}
		a.failures++
		who := r.PostForm.Get("username")
		if expected == stepOTP {
			who = sess.User
		}
		ui.logf("wrong %s for %q (attempt %d of %d)", expected, who, a.failures, maxFailures)
		if a.failures >= maxFailures {
			return errTooManyFailures
		}
		v := ui.pageFor(a, expected, sess, now)
		v.Problem = map[step]string{stepPassword: "Wrong username or password.", stepOTP: "That code is not right, or it has expired."}[expected]
		if a.failures == maxFailures-1 {
			v.Problem += " One attempt left: another mistake ends this sign-in."
		}
		if expected == stepPassword {
			v.Username = r.PostForm.Get("username")
		}
		failed = &v
		return nil
	})
	switch {
	case errors.Is(err, errTooManyFailures):
		_ = ui.store.DeleteAuthRequest(r.Context(), id)
		// Say why here, where the reason is known: the site only learns
		// "access_denied". The link continues to the site with that error.
		rec := httptest.NewRecorder()
		op.AuthRequestError(rec, r, snapshot, oidc.ErrAccessDenied().WithDescription("too many failed attempts"), ui.provider)
		back := rec.Header().Get("Location")
		if back == "" {
			back = "/"
		}
		render(w, http.StatusForbidden, "message", page{
			Title:   "Too many failed attempts",
			Message: fmt.Sprintf("This sign-in was stopped after %d wrong attempts. Nothing was granted to the site. Go back to the site and start again.", maxFailures),
			Back:    back,
		})
		return
	case err != nil:
		ui.expired(w, err)
		return
	case failed != nil:
		render(w, http.StatusForbidden, failed.Step, *failed)
		return
	}
	if accepted {
		method := map[string]string{stepPassword.String(): methodPassword, stepOTP.String(): methodOTP}[posted]
		ui.sessions.authenticated(w, sess, user.ID, method)
	}
	http.Redirect(w, r, loginPath+"?id="+url.QueryEscape(id), http.StatusSeeOther)
}

func (ui *loginUI) expired(w http.ResponseWriter, err error) {
	render(w, http.StatusBadRequest, "message", page{
		Title:   "This sign-in has expired",
		Message: "Go back to the site and start again (" + err.Error() + ").",
	})
}

// pageFor explains, on the page, why this step is asked: the demo is there
// to show what the site requested and what the OP made of it.
func (ui *loginUI) pageFor(a *authRequest, next step, sess *ssoSession, now time.Time) page {
	d := a.demand()
	p := page{Title: "Sign in", Step: next.String(), ID: a.ID, Username: d.loginHint, Users: ui.userList()}
	if p.Username == "" && sess != nil {
		p.Username = sess.User
	}
	p.Asked = append([]param{{"client_id", a.ClientID}}, a.Asked.params()...)
	switch {
	case next == stepOTP:
		p.Title = "Second factor"
		p.Why = "The site asked for " + ACRMFA + ". Enter the 6-digit code sent to " + sess.User +
			" (in this demo it appears in the console where the demo runs)."
	case sess == nil:
		p.Why = "Sign in to continue to the demo site."
	case d.loginHint != "" && d.loginHint != sess.User:
		p.Why = "The site asked for " + d.loginHint + "; you are signed in here as " + sess.User + "."
	case d.hasMaxAge:
		p.Title = "Sign in again"
		age := now.Sub(sess.AuthTime).Round(time.Second)
		limit, ok := a.Asked.maxAge()
		switch {
		case ok && age > limit:
			p.Why = fmt.Sprintf("You signed in %s ago; for this request the site accepts at most %s (max_age=%d).", age, limit, int(limit.Seconds()))
		case ok && url.Values(a.Asked).Get("prompt") != "login":
			p.Why = fmt.Sprintf("For this request the site accepts a sign-in at most %s old (max_age=%d).", limit, int(limit.Seconds()))
		default:
			p.Why = "The site asked for a fresh sign-in (prompt=login)."
		}
	}
	return p
}

func (ui *loginUI) userList() []User {
	var us []User
	for _, u := range ui.users {
		us = append(us, u)
	}
	slices.SortFunc(us, func(a, b User) int { return strings.Compare(a.ID, b.ID) })
	return us
}
