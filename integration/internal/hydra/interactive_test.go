package hydra

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// formBrowser is a browser without JavaScript on the server's cookie jar: it
// follows redirects until Hydra sends it to the relying party's redirect URI.
type formBrowser struct {
	t      *testing.T
	client *http.Client
}

func newFormBrowser(t *testing.T, srv *Server, rp Client) formBrowser {
	cb, err := url.Parse(rp.RedirectURIs[0])
	if err != nil {
		t.Fatal(err)
	}
	srv.mu.Lock()
	jar := srv.jar
	srv.mu.Unlock()
	return formBrowser{t: t, client: &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if req.URL.Host == cb.Host {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}}
}

// page is where a request ended: a page, or the redirect to the relying party.
type page struct {
	url      *url.URL
	body     string
	redirect url.Values // the redirect URI's query, nil if the flow stopped at a page
}

func (b formBrowser) do(resp *http.Response, err error) page {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := page{url: resp.Request.URL, body: string(body)}
	if resp.StatusCode/100 == 3 {
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil {
			b.t.Fatal(err)
		}
		p.redirect = loc.Query()
	} else if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("%s: %s: %s", p.url, resp.Status, body)
	}
	return p
}

func (b formBrowser) get(target string) page { return b.do(b.client.Get(target)) }

var hiddenChallenge = regexp.MustCompile(`name="login_challenge" value="([^"]+)"`)

// submit sends the sign-in form on p with the given fields.
func (b formBrowser) submit(p page, fields url.Values) page {
	b.t.Helper()
	m := hiddenChallenge.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("%s is not a sign-in page: %s", p.url, p.body)
	}
	form := url.Values{"login_challenge": {m[1]}}
	for k, v := range fields {
		form[k] = v
	}
	return b.do(b.client.PostForm(p.url.ResolveReference(&url.URL{Path: "/login"}).String(), form))
}

func TestTheSignInPageDecidesInteractiveLogins(t *testing.T) {
	t.Parallel()
	srv, c := startWithClient(t)
	srv.Interactive(true)
	for _, tc := range []struct {
		name, button string
		acr          string
		amr          []string
		err          string
	}{
		{name: "password", button: "pwd", acr: "urn:stepup:pwd", amr: []string{"pwd"}},
		{name: "password and one-time code", button: "mfa", acr: "urn:stepup:mfa", amr: []string{"pwd", "otp"}},
		{name: "cancel", button: "cancel", err: "access_denied"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newFormBrowser(t, srv, c)
			srv.ResetLoginRequests()
			p := b.get(srv.AuthorizeURL(c, url.Values{"acr_values": {"urn:stepup:mfa"}, "login_hint": {"bob"}}))
			if p.redirect != nil || !strings.HasPrefix(p.url.String(), srv.LoginURL()+"?") {
				t.Fatalf("the flow did not stop at the sign-in page: %s %v", p.url, p.redirect)
			}
			for _, want := range []string{
				"<title>Sign in to the test IdP</title>",
				`<dd id="acr-values">urn:stepup:mfa</dd>`,
				`id="subject" name="subject" value="bob"`,
				`<dd id="client">rp</dd>`,
			} {
				if !strings.Contains(p.body, want) {
					t.Errorf("sign-in page lacks %s:\n%s", want, p.body)
				}
			}
			if n := len(srv.LoginRequests()); n != 1 {
				t.Fatalf("%d login requests recorded for one page", n)
			}

			got := b.submit(p, url.Values{"subject": {"bob"}, "method": {tc.button}})
			if got.redirect == nil {
				t.Fatalf("submitting %s ended at %s: %s", tc.button, got.url, got.body)
			}
			if n := len(srv.LoginRequests()); n != 1 {
				t.Errorf("submitting the form recorded another login request (%d)", n)
			}
			if tc.err != "" {
				if got.redirect.Get("error") != tc.err || got.redirect.Has("code") {
					t.Fatalf("redirect %v, want error %s", got.redirect, tc.err)
				}
				return
			}
			_, id := DecodeJWT(t, srv.Exchange(t, c, got.redirect.Get("code"), "").IDToken)
			if id["sub"] != "bob" || id["acr"] != tc.acr || !slices.Equal(claimStrings(t, id["amr"]), tc.amr) {
				t.Errorf("ID token sub %v acr %v amr %v, want bob %s %q", id["sub"], id["acr"], id["amr"], tc.acr, tc.amr)
			}
		})
	}
}

func TestTheSignInPageSuggestsTheDecidedSubjectAndRemembersOnRequest(t *testing.T) {
	t.Parallel()
	srv, c := startWithClient(t)
	srv.Interactive(true)
	srv.OnLogin(func(LoginRequest) LoginDecision { return LoginDecision{Subject: "carol"} })
	b := newFormBrowser(t, srv, c)

	p := b.get(srv.AuthorizeURL(c, nil))
	if !strings.Contains(p.body, `id="subject" name="subject" value="carol"`) || !strings.Contains(p.body, `<dd id="acr-values">(none)</dd>`) {
		t.Fatalf("sign-in page without login_hint:\n%s", p.body)
	}
	got := b.submit(p, url.Values{"subject": {"dave"}, "method": {"mfa"}, "remember": {"on"}})
	_, first := DecodeJWT(t, srv.Exchange(t, c, got.redirect.Get("code"), "").IDToken)
	if first["sub"] != "dave" || first["acr"] != "urn:stepup:mfa" {
		t.Fatalf("typed subject: ID token %v", first)
	}

	// The remembered login is decided without a page: CodeFlow, which only
	// follows redirects, gets through. DefaultLogin keeps what the session had.
	srv.OnLogin(nil)
	_, second := DecodeJWT(t, srv.Exchange(t, c, srv.CodeFlow(t, c, nil), "").IDToken)
	if last, _ := srv.LastLoginRequest(); !last.Skip || second["sub"] != "dave" || second["acr"] != "urn:stepup:mfa" {
		t.Fatalf("remembered login: skip %v, ID token %v", last.Skip, second)
	}
}
