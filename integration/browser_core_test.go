package integration

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/browser"
	"github.com/caddy-stepup/caddy-stepup/integration/internal/hydra"
)

// TestBrowserSignsInStepsUpAndPassesThrough is the core flow in a real
// Chromium, clicking the IdP's sign-in page: a first login with a password
// for /, a step-up to password + one-time code for /admin, then /admin
// again without the IdP.
func TestBrowserSignsInStepsUpAndPassesThrough(t *testing.T) {
	e := newEnv(t)
	e.idp.Interactive(true)
	b := browser.New(t)
	site := e.caddy.URL()

	// First visit: any page needs a login, and the IdP asks for no acr.
	b.Navigate(site + "/")
	signIn := openSignInPage(t, b, e.idp)
	if got := b.TextOf("#acr-values"); got != "(none)" {
		t.Errorf("first login asked for acr_values %q", got)
	}
	if got := browser.Get(b, chromedp.Value(chromedp.CSS("#subject"))); got != hydra.DefaultSubject {
		t.Errorf("subject field starts as %q, want the decided %q", got, hydra.DefaultSubject)
	}
	b.Run(chromedp.Clear(chromedp.CSS("#subject")))
	b.Type("#subject", "carol") // not the default, so the upstream proves the form was used
	b.Screenshot(t, "sign-in-with-password")
	b.Click("#pwd")
	home := upstreamPage(t, b, site+"/")
	if home.User != "carol" || home.ACR != acrPwd || home.Rule != "default" {
		t.Fatalf("first login reached the upstream as %+v", home)
	}
	b.Screenshot(t, "home")
	if signIn.Query.Has("acr_values") {
		t.Errorf("first authorization request had acr_values: %v", signIn.Query)
	}

	// /admin demands MFA: the IdP is asked for it, for the same user.
	b.Navigate(site + "/admin/users")
	stepUp := openSignInPage(t, b, e.idp)
	if got := b.TextOf("#acr-values"); got != acrMFA {
		t.Errorf("step-up sign-in page shows acr_values %q, want %q", got, acrMFA)
	}
	if got := browser.Get(b, chromedp.Value(chromedp.CSS("#subject"))); got != "carol" {
		t.Errorf("step-up subject field starts as %q, want the login_hint carol", got)
	}
	if stepUp.Query.Get("acr_values") != acrMFA || stepUp.LoginHint != "carol" {
		t.Errorf("step-up request: acr_values %q login_hint %q", stepUp.Query.Get("acr_values"), stepUp.LoginHint)
	}
	b.Screenshot(t, "step-up-with-one-time-code")
	b.Click("#mfa")
	admin := upstreamPage(t, b, site+"/admin/users")
	if admin.User != "carol" || admin.ACR != acrMFA || admin.Rule != "admin" || admin.Path != "/admin/users" {
		t.Fatalf("step-up reached the upstream as %+v", admin)
	}
	b.Screenshot(t, "admin-users")

	// The MFA session now suffices for /admin: no sign-in page.
	logins := len(e.idp.LoginRequests())
	b.Navigate(site + "/admin")
	if u := b.URL(); u != site+"/admin" {
		t.Fatalf("/admin with an MFA session ended at %s", u)
	}
	again := upstreamPage(t, b, site+"/admin")
	if again.User != "carol" || again.ACR != acrMFA || again.Rule != "admin" {
		t.Fatalf("/admin with an MFA session reached the upstream as %+v", again)
	}
	if n := len(e.idp.LoginRequests()); n != logins {
		t.Fatalf("a sufficient session went back to the IdP: %d login requests, was %d", n, logins)
	}
	b.Screenshot(t, "admin-again")
}

// openSignInPage waits for the IdP's sign-in page and returns the login
// request it shows.
func openSignInPage(t *testing.T, b *browser.Browser, idp *hydra.Server) hydra.LoginRequest {
	t.Helper()
	b.WaitURLPrefix(idp.LoginURL() + "?")
	b.WaitText("Sign in to the test IdP")
	req, ok := idp.LastLoginRequest()
	if !ok {
		t.Fatal("the browser is on the sign-in page, but the IdP recorded no login request")
	}
	return req
}

// upstreamPage waits until the browser is at target and returns what the
// echo upstream reported there.
func upstreamPage(t *testing.T, b *browser.Browser, target string) echoed {
	t.Helper()
	b.WaitURL(target, func(u string) bool { return u == target })
	text := b.WaitText(`"path"`)
	var got echoed
	start, end := strings.Index(text, "{"), strings.LastIndex(text, "}")
	if start < 0 || end < start || json.Unmarshal([]byte(text[start:end+1]), &got) != nil {
		t.Fatalf("%s is not the upstream's answer: %q", target, truncate(text))
	}
	return got
}
