package integration

import (
	"encoding/json"
	"io"
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
// the second factor for /admin, send a transfer, let the transfer's
// window pass, follow the 401's step_up_url to a fresh password login, send
// again, sign out. Each step is screenshotted under artifacts/.
func TestDemoStepUpInABrowser(t *testing.T) {
	const window = 4 * time.Second // --transfer-max-age
	d := demo.Start(t, demo.Options{TransferMaxAge: window})
	b := browser.New(t, browser.WithTimeout(3*time.Minute))
	loginPage := func(u string) bool { return strings.HasPrefix(u, d.Issuer+"/login?") }

	// The public home page asks /api/me, which answers 401 without a session.
	b.Navigate(d.URL + "/")
	if text := b.WaitText("Not signed in"); !strings.Contains(text, `error="insufficient_user_authentication"`) {
		t.Errorf("home page does not show the challenge: %q", text)
	}
	b.Screenshot(t, "home-signed-out")

	// Its Sign in link is the challenge's step_up_url: the IdP asks for a password.
	b.Click("#signin")
	b.WaitURL("the IdP's login page", loginPage)
	b.WaitText("Sign in to continue")
	b.Type("#username", "alice")
	b.Type("#password", "wonderland")
	b.Screenshot(t, "idp-password")
	b.Click("#submit")
	b.WaitURL("back on the home page", func(u string) bool { return u == d.URL+"/" })
	if text := b.WaitText("Signed in as alice"); !strings.Contains(text, "urn:stepup:pwd") {
		t.Errorf("home page after the password: %q", text)
	}
	b.Screenshot(t, "home-signed-in")

	// /admin needs urn:stepup:mfa: the IdP asks only for the one-time code.
	b.Navigate(d.URL + "/admin")
	b.WaitURL("the IdP's second factor page", loginPage)
	b.WaitText("Second factor")
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

	// A transfer within the window passes.
	b.Navigate(d.URL + "/transfer")
	authTime := time.Unix(atoi(t, browser.Get(b, chromedp.Evaluate[string](`document.querySelector('#who [data-auth-time]').dataset.authTime`))), 0)
	b.Type("#to", "bob")
	b.Type("#amount", "25")
	// auth_time has whole seconds, so up to 1s of the window is already gone.
	if spent := time.Since(authTime); spent > window-time.Second {
		t.Fatalf("%s passed between the sign-in and the first transfer; the %s window leaves no room on this machine", spent.Round(100*time.Millisecond), window)
	}
	b.Click("#send")
	b.WaitText("Sent 25.00 to bob (transfer #1)")
	t.Logf("first transfer sent %s after the sign-in (window %s)", time.Since(authTime).Round(100*time.Millisecond), window)
	b.Screenshot(t, "transfer-sent")

	// Past the window the same POST is refused with 401; the page follows
	// step_up_url and the IdP demands the password again.
	time.Sleep(time.Until(authTime.Add(window + time.Second)))
	b.Click("#send")
	b.WaitURL("the IdP's sign-in-again page", loginPage)
	text := b.WaitText("Sign in again")
	// The IdP lists what the site asked for; its explanation sentence depends
	// on its own clock against its SSO session, so the table is what counts.
	for _, want := range []string{"max_age\t" + strconv.Itoa(int(window.Seconds())), "login_hint\talice"} {
		if !strings.Contains(text, want) {
			t.Errorf("the re-authentication page does not show %q: %q", want, text)
		}
	}
	if user := browser.Get(b, chromedp.Evaluate[string](`document.getElementById('username').value`)); user != "alice" {
		t.Errorf("login_hint not kept: username is %q", user)
	}
	if n := d.Count(`"rule": "transfer", "reason": "max_age"`); n != 1 {
		t.Errorf("Caddy logged %d max_age challenges for the transfer rule, want 1", n)
	}
	b.Screenshot(t, "idp-sign-in-again")
	b.Type("#password", "wonderland")
	b.Click("#submit")
	// The plugin asks for the level the session already had (mfa), so a
	// recency step-up does not cost the user their second factor later.
	b.WaitText("Second factor")
	b.Type("#code", d.TakeCode(t))
	b.Screenshot(t, "idp-second-factor-again")
	b.Click("#submit")

	// Back on the form, filled in, with nothing sent: the user sends again.
	b.WaitURL("the transfer form", func(u string) bool { return strings.HasPrefix(u, d.URL+"/transfer?") })
	b.WaitText("You signed in again")
	form := browser.Get(b, chromedp.Evaluate[[]string](`[document.getElementById('to').value, document.getElementById('amount').value]`))
	if len(form) != 2 || form[0] != "bob" || form[1] != "25" {
		t.Errorf("form after the step-up = %q, want bob 25", form)
	}
	if n := d.Count("app   | transfer #"); n != 1 {
		t.Fatalf("%d transfers made before sending again; a refused write must not be replayed", n)
	}
	b.Screenshot(t, "transfer-back-to-form")
	b.Click("#send")
	b.WaitText("Sent 25.00 to bob (transfer #2)")
	b.Screenshot(t, "transfer-sent-again")

	// Sign out ends the edge's session and, with idp_logout, the IdP's: the
	// next sign-in asks for the password instead of reusing an SSO session.
	b.Click("#signout")
	b.WaitURL("the home page", func(u string) bool { return u == d.URL+"/" })
	b.WaitText("Not signed in")
	b.Navigate(d.URL + "/transfer")
	b.WaitURL("the IdP's login page", loginPage)
	b.WaitText("Sign in to continue")
	b.Screenshot(t, "signed-out-then-password-again")

	d.StopCleanly(t)
}

// TestDemoAnswersAPIClientsWithChallenges checks the demo's edge without a
// browser: HTTPS from Caddy's local CA, RFC 9470 challenges for API calls,
// forged identity headers dropped, and a PKCE login request for pages.
func TestDemoAnswersAPIClientsWithChallenges(t *testing.T) {
	d := demo.Start(t, demo.Options{TransferMaxAge: 90 * time.Second})
	c := d.Client(t)
	get := func(method, path string, headers ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, d.URL+path, strings.NewReader(`{"to":"bob","amount":"1"}`))
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(body)
	}

	if resp, body := get("GET", "/"); resp.StatusCode != 200 || !strings.Contains(body, "Step-up authentication") {
		t.Fatalf("home page: %d", resp.StatusCode)
	}

	for _, tt := range []struct {
		name, method, path string
		headers            []string
		wantAuth           string
		wantRule           string
	}{
		{"an API call without a session", "GET", "/api/me", nil, `error="insufficient_user_authentication"`, "signed_in"},
		{"an API call with a forged X-User", "GET", "/api/me", []string{"X-User", "alice", "X-Acr", "urn:stepup:mfa"}, "insufficient_user_authentication", "signed_in"},
		{"a transfer without a fresh sign-in", "POST", "/transfer", []string{"Content-Type", "application/json"}, "max_age=90", "transfer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(tt.method, tt.path, tt.headers...)
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), tt.wantAuth) {
				t.Fatalf("%d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
			}
			var ch struct {
				Error     string `json:"error"`
				StepUpURL string `json:"step_up_url"`
			}
			if err := json.Unmarshal([]byte(body), &ch); err != nil || ch.Error != "insufficient_user_authentication" {
				t.Fatalf("challenge body %q: %v", body, err)
			}
			u, err := url.Parse(ch.StepUpURL)
			if err != nil || u.Scheme+"://"+u.Host != d.URL || u.Path != "/.stepup/login" || u.Query().Get("rule") != tt.wantRule {
				t.Errorf("step_up_url = %q", ch.StepUpURL)
			}
		})
	}

	resp, _ := get("GET", "/admin", "Accept", "text/html", "Sec-Fetch-Mode", "navigate")
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), d.Issuer+"/authorize?") {
		t.Fatalf("/admin navigation: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	q := loc.Query()
	if q.Get("acr_values") != "urn:stepup:mfa" || q.Get("code_challenge_method") != "S256" || q.Get("redirect_uri") != d.URL+"/.stepup/callback" {
		t.Errorf("authorization request: %v", q)
	}

	d.StopCleanly(t)
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}
