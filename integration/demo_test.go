package integration

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/browser"
	"github.com/caddy-stepup/caddy-stepup/integration/internal/demo"
)

// TestDemoStepUpInABrowser walks through examples/demo (`make demo`) as a
// newcomer would, in headless Chromium: sign in with a password, step up to
// the second factor for /admin, send a transfer, age the sign-in with the
// decision panel's button, follow the 401's step_up_url to a fresh password
// login, send again, sign out. After each step the decision panel (fed from
// Caddy's logs) must show the rule and reason that decided it. Each step is
// screenshotted under artifacts/.
func TestDemoStepUpInABrowser(t *testing.T) {
	d := demo.Start(t, demo.Options{})
	b := browser.New(t, browser.WithTimeout(3*time.Minute))
	loginPage := func(u string) bool { return strings.HasPrefix(u, d.Issuer+"/login?") }
	request := func(method, path, result, rule, reason string) func(demo.Event) bool {
		return func(e demo.Event) bool {
			return e.Kind == "request" && e.Method == method && e.Path == path && e.Result == result && e.Rule == rule && e.Reason == reason
		}
	}

	// The public home page asks /api/me, which answers 401 without a session.
	mark := d.Mark(t)
	b.Navigate(d.URL + "/")
	if text := b.WaitText("Not signed in"); !strings.Contains(text, `error="insufficient_user_authentication"`) {
		t.Errorf("home page does not show the challenge: %q", text)
	}
	if signOutShown(b) {
		t.Error("Sign out is offered to someone not signed in")
	}
	d.WaitEvent(t, mark, "GET /api/me challenged by signed_in for no_session", request("GET", "/api/me", "challenge", "signed_in", "no_session"))
	b.Screenshot(t, "home-signed-out")

	// Its Sign in link is the challenge's step_up_url: the IdP asks for a password.
	b.Click("#signin")
	b.WaitURL("the IdP's login page", loginPage)
	b.WaitText("Sign in to continue")
	b.Type("#username", "alice")
	b.Type("#password", "wonderland")
	b.Screenshot(t, "idp-password")
	mark = d.Mark(t)
	b.Click("#submit")
	b.WaitURL("back on the home page", func(u string) bool { return u == d.URL+"/" })
	if text := b.WaitText("Signed in as alice"); !strings.Contains(text, "urn:stepup:pwd") {
		t.Errorf("home page after the password: %q", text)
	}
	d.WaitEvent(t, mark, "a step-up completed with acr pwd for alice", func(e demo.Event) bool {
		return e.Msg == "step-up completed" && e.ACR == "urn:stepup:pwd" && e.AMR == "pwd" && e.Subject == "alice"
	})
	if e := d.WaitEvent(t, mark, "GET /api/me passed by signed_in", request("GET", "/api/me", "pass", "signed_in", "")); e.ACR != "urn:stepup:pwd" || e.AuthTime == "" {
		t.Errorf("the pass does not show the session: %v", e)
	}
	// The backend trusted Caddy's signed assertion, which the page shows decoded.
	if text := b.TextOf("#assertion"); !strings.Contains(text, "alice passed rule signed_in with acr urn:stepup:pwd") || !strings.Contains(text, `"htu": "`+d.URL+`/api/me"`) {
		t.Errorf("home page does not show the verified assertion: %q", text)
	}
	if !signOutShown(b) {
		t.Error("Sign out is not offered to someone signed in")
	}
	b.Screenshot(t, "home-signed-in")

	// Reached around Caddy, the backend refuses a forged identity header:
	// a fetch from its own (public) home page, so no CORS is involved.
	b.Navigate(d.Backend + "/")
	if status := browser.Get(b, chromedp.Evaluate[int](`fetch('/api/me', {headers: {'X-User': 'alice', 'X-Acr': 'urn:stepup:mfa'}}).then(r => r.status)`, chromedp.EvalAwaitPromise)); status != http.StatusForbidden {
		t.Errorf("the backend reached directly with a forged X-User answered %d, want 403", status)
	}
	b.Navigate(d.URL + "/")
	b.WaitText("Signed in as alice")

	// /admin needs urn:stepup:mfa: the IdP asks only for the one-time code.
	mark = d.Mark(t)
	b.Navigate(d.URL + "/admin")
	b.WaitURL("the IdP's second factor page", loginPage)
	b.WaitText("Second factor")
	if e := d.WaitEvent(t, mark, "a step-up required by admin for acr", func(e demo.Event) bool {
		return e.Msg == "step-up required" && e.Rule == "admin" && e.Reason == "acr"
	}); e.ACR != "urn:stepup:pwd" || e.AMR != "pwd" || e.Mode != "enforce" {
		t.Errorf("the audit event does not say what the session had: %v", e)
	}
	if hasPassword := browser.Get(b, chromedp.Evaluate[bool](`document.getElementById('password') !== null`)); hasPassword {
		t.Error("the step-up asked for the password again; the SSO session should cover it")
	}
	b.Type("#code", d.TakeCode(t))
	b.Screenshot(t, "idp-second-factor")
	b.Click("#submit")
	b.WaitURL("the admin page", func(u string) bool { return u == d.URL+"/admin" })
	b.WaitText("Admin console")
	if acr := b.TextOf("#acr"); acr != "urn:stepup:mfa" {
		t.Fatalf("admin page shows acr %q", acr)
	}
	if e := d.WaitEvent(t, mark, "GET /admin passed by admin", request("GET", "/admin", "pass", "admin", "")); e.ACR != "urn:stepup:mfa" || e.AMR != "pwd otp" {
		t.Errorf("the admin pass: %v", e)
	}
	b.Screenshot(t, "admin-mfa")

	// Again: the session suffices, the IdP sees no request.
	requests := d.Count("authorization request from")
	b.Navigate(d.URL + "/admin")
	b.WaitText("Admin console")
	if u := b.URL(); u != d.URL+"/admin" {
		t.Errorf("second visit to /admin ended on %s", u)
	}
	if n := d.Count("authorization request from"); n != requests {
		t.Errorf("the IdP got %d authorization requests for a sufficient session", n-requests)
	}
	b.Screenshot(t, "admin-again")

	// A transfer within the window passes; amount and recipient stay out of the URL.
	b.Navigate(d.URL + "/transfer")
	b.Type("#to", "bob")
	b.Type("#amount", "25")
	mark = d.Mark(t)
	b.Click("#send")
	b.WaitText("Sent 25.00 to bob (transfer #1)")
	d.WaitEvent(t, mark, "POST /transfer passed by transfer", request("POST", "/transfer", "pass", "transfer", ""))
	b.Screenshot(t, "transfer-sent")

	// The panel shows the decisions; its demo-only button ages the sign-in
	// by ten minutes (the IdP backdates its session, the site signs in again
	// silently), so the transfer's 2-minute max_age is exceeded at once.
	b.Navigate(d.URL + "/demo/")
	b.WaitText("rule transfer")
	b.Screenshot(t, "panel-decisions")
	b.Click("#age button")
	b.WaitURL("the transfer form after ageing", func(u string) bool { return u == d.URL+"/transfer" })
	authTime := time.Unix(atoi(t, browser.Get(b, chromedp.Evaluate[string](`document.querySelector('#who [data-auth-time]').dataset.authTime`))), 0)
	if age := time.Since(authTime); age < 10*time.Minute {
		t.Fatalf("after ageing, the sign-in is %s old, want at least 10m", age.Round(time.Second))
	}

	// Past the window the same form POST is held mid-submission and the
	// IdP demands the password again.
	b.Type("#to", "bob")
	b.Type("#amount", "25")
	mark = d.Mark(t)
	b.Click("#send")
	b.WaitURL("the IdP's sign-in-again page", loginPage)
	d.WaitEvent(t, mark, "the transfer held for the step-up", func(e demo.Event) bool {
		return e.Msg == "form held for step-up" && e.Rule == "transfer"
	})
	text := b.WaitText("Sign in again")
	for _, want := range []string{"max_age\t120", "login_hint\talice", "You signed in 10m"} {
		if !strings.Contains(text, want) {
			t.Errorf("the re-authentication page does not show %q: %q", want, text)
		}
	}
	if user := browser.Get(b, chromedp.Evaluate[string](`document.getElementById('username').value`)); user != "alice" {
		t.Errorf("login_hint not kept: username is %q", user)
	}
	d.WaitEvent(t, mark, "a step-up required by transfer for max_age", func(e demo.Event) bool {
		return e.Msg == "step-up required" && e.Rule == "transfer" && e.Reason == "max_age" && e.AuthTime != ""
	})
	b.Screenshot(t, "idp-sign-in-again")
	b.Type("#password", "wonderland")
	b.Click("#submit")
	// The plugin asks for the level the session already had (mfa), so a
	// recency step-up does not cost the user their second factor later.
	b.WaitText("Second factor")
	b.Type("#code", d.TakeCode(t))
	b.Screenshot(t, "idp-second-factor-again")
	b.Click("#submit")

	// Back from the IdP on Caddy's confirmation page, with nothing sent:
	// the user sees what was being sent and sends it.
	b.WaitURL("the confirmation page", func(u string) bool { return strings.HasPrefix(u, d.URL+"/.stepup/resume?") })
	page := b.WaitText("You were sending a form to")
	for _, want := range []string{"/transfer", "POST", "to: bob", "amount: 25"} {
		if !strings.Contains(page, want) {
			t.Errorf("the confirmation page lacks %q: %q", want, page)
		}
	}
	// The confirmation page's URL carries the held form's id and the login
	// flow, nothing of the form: not its field names nor its values. (Looking
	// for "bob" or "25" in the URL could not tell: the random port, the hex
	// id and the flow token may contain "25".)
	if u, err := url.Parse(b.URL()); err != nil || !onlyParams(u.Query(), "id", "flow") {
		t.Errorf("the confirmation page's URL carries more than the held form's id and flow: %v (%v)", u, err)
	}
	if n := d.Count("app   | transfer #"); n != 1 {
		t.Fatalf("%d transfers made before the confirmation; a held write must wait for it", n)
	}
	b.Screenshot(t, "transfer-confirm-held-form")
	mark = d.Mark(t)
	b.Click(`button[value=send]`)
	b.WaitText("Sent 25.00 to bob (transfer #2)")
	d.WaitEvent(t, mark, "the held transfer resumed", func(e demo.Event) bool {
		return e.Msg == "held form resumed" && e.Rule == "transfer"
	})
	b.Screenshot(t, "transfer-sent-after-step-up")
	// Once: a reload of the result page sends nothing again.
	b.Navigate(b.URL())
	b.WaitText("Sent 25.00 to bob (transfer #2)")
	if n := d.Count("app   | transfer #"); n != 2 {
		t.Fatalf("%d transfers made, want 2: the held one arrives exactly once", n)
	}

	// Settings are a plain form too: within their window they save at once.
	b.Navigate(d.URL + "/settings")
	b.Fill("#email", "alice@example.test")
	b.Click("#save")
	b.WaitText("Saved.")
	if v := browser.Get(b, chromedp.Evaluate[string](`document.getElementById('email').value`)); v != "alice@example.test" {
		t.Errorf("settings after saving show e-mail %q", v)
	}

	// Sign out ends the edge's session and, with idp_logout, the IdP's: the
	// next sign-in asks for the password instead of reusing an SSO session.
	b.Click("#signout")
	b.WaitURL("the signed-out confirmation", func(u string) bool { return u == d.URL+"/?signed-out" })
	b.WaitText("You are signed out")
	if signOutShown(b) {
		t.Error("Sign out is offered to someone signed out")
	}
	b.Screenshot(t, "signed-out")
	b.Navigate(d.URL + "/transfer")
	b.WaitURL("the IdP's login page", loginPage)
	b.WaitText("Sign in to continue")
	b.Screenshot(t, "signed-out-then-password-again")

	// Wrong passwords: the IdP warns before the last attempt, then says why
	// it stopped; back on the site, a styled page says what happened, what
	// to do next, and a reference that is the request's id in the log.
	// The IdP answers each wrong password with a new page that keeps the
	// username: fill (not append) and wait for that new page (its password
	// field empty again), not for text the previous answer already showed.
	for i := 1; i < 5; i++ {
		b.Fill("#username", "alice")
		b.Fill("#password", "guess")
		b.Click("#submit")
		b.WaitTrue("the IdP's answer to wrong password "+strconv.Itoa(i), answeredWrongPassword)
	}
	b.WaitText("One attempt left")
	b.Screenshot(t, "idp-last-attempt-warning")
	b.Fill("#username", "alice")
	b.Fill("#password", "guess")
	b.Click("#submit")
	b.WaitText("Too many failed attempts")
	b.Screenshot(t, "idp-too-many-attempts")
	mark = d.Mark(t)
	b.Click("#back")
	b.WaitText("Sign-in refused")
	if desc := b.TextOf("#description"); !strings.Contains(desc, "access_denied") {
		t.Errorf("the site's page does not pass on the IdP's answer: %q", desc)
	}
	id := b.TextOf("#request-id")
	d.WaitEvent(t, mark, "the refused login under the page's reference", func(e demo.Event) bool {
		return e.Msg == "step-up refused" && e.ID == id && id != ""
	})
	b.Screenshot(t, "site-sign-in-refused")

	p := d.ReadPanel(t, 0)
	if v := p.Metric("caddy_stepup_challenges_total", `reason="max_age"`, `rule="transfer"`); v != "1" {
		t.Errorf("the panel's caddy_stepup_challenges_total for transfer/max_age = %q, want 1 (metrics error %q)", v, p.MetricsError)
	}
	d.StopCleanly(t)
}

// signOutShown reports whether the page offers the Sign out button.
func signOutShown(b *browser.Browser) bool {
	return browser.Get(b, chromedp.Evaluate[bool](`(() => { const f = document.querySelector('form.signout'); return !!f && !f.hidden; })()`))
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

// answeredWrongPassword is true on the IdP's page that answers a wrong
// password: the message shown and the password field empty again (the page
// the test typed into still holds the password it sent).
const answeredWrongPassword = `(() => {
	const pw = document.querySelector("#password");
	return !!pw && pw.value === "" && document.body.innerText.includes("Wrong username or password");
})()`

// onlyParams reports whether q has exactly the parameters names, each once.
func onlyParams(q url.Values, names ...string) bool {
	if len(q) != len(names) {
		return false
	}
	for _, n := range names {
		if len(q[n]) != 1 {
			return false
		}
	}
	return true
}
