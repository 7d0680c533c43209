package integration

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/caddy-stepup/caddy-stepup/internal/rogueop"
)

// Logout changes state, so it takes a same-origin POST: another site's
// link, image, iframe or form must not sign users out. A GET shows a
// confirmation form. idp_logout still continues to the IdP's
// end_session_endpoint, identifying the client with client_id.

func TestSecurityLogoutNeedsASameOriginPost(t *testing.T) {
	op := rogueop.Start(t, rogueop.Options{ClientID: edgeClientID, ClientSecret: edgeSecret,
		EditDiscovery: func(doc map[string]any) { doc["end_session_endpoint"] = doc["issuer"].(string) + "/session/end" }})
	e := newRogueEnv(t, rogueSite{op: op, extra: "idp_logout"})
	logout := e.caddy.URL() + "/.stepup/logout"

	stillSignedIn := func(t *testing.T, c *http.Client) {
		t.Helper()
		resp, body := api(t, c, "GET", e.caddy.URL()+"/")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"user":"alice"`) {
			t.Fatalf("the session did not survive: %d %s", resp.StatusCode, truncate(body))
		}
	}
	send := func(t *testing.T, c *http.Client, method string, headers ...string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, logout, nil)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(body)
	}
	clearsSession := func(resp *http.Response) bool {
		for _, c := range resp.Cookies() {
			if c.Name == sessionCookieName && c.MaxAge < 0 {
				return true
			}
		}
		return false
	}

	for _, tc := range []struct {
		name    string
		method  string
		headers []string
		status  int
	}{
		{"ACrossSiteLinkOrImageGetsAConfirmationPage", "GET", []string{"Accept", "text/html", "Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate"}, http.StatusOK},
		{"AGetFromThisSiteAlsoOnlyConfirms", "GET", []string{"Accept", "text/html", "Sec-Fetch-Site", "same-origin"}, http.StatusOK},
		{"ACrossSiteFormPostIsRefused", "POST", []string{"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"ACrossSitePostWithoutOriginIsRefused", "POST", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"APostFromAnOpaqueOriginIsRefused", "POST", []string{"Origin", "null"}, http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.freshClient()
			sessionValue(t, e, c)
			resp, body := send(t, c, tc.method, tc.headers...)
			if resp.StatusCode != tc.status || clearsSession(resp) {
				t.Fatalf("got %d (Location %q, clears the session: %v), want %d and the session kept", resp.StatusCode, resp.Header.Get("Location"), clearsSession(resp), tc.status)
			}
			if tc.method == "GET" && (!strings.Contains(body, `method="post"`) || !strings.Contains(body, `action="/.stepup/logout"`) || resp.Header.Get("X-Frame-Options") != "DENY") {
				t.Errorf("the confirmation page has no POST form or may be framed: %q %s", resp.Header.Get("X-Frame-Options"), truncate(body))
			}
			stillSignedIn(t, c)
		})
	}

	t.Run("ASameOriginPostSignsOutAndContinuesToTheIdP", func(t *testing.T) {
		c := e.freshClient()
		sessionValue(t, e, c)
		resp, _ := send(t, c, "POST", "Origin", e.caddy.URL(), "Sec-Fetch-Site", "same-origin")
		loc, err := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusSeeOther || err != nil || !clearsSession(resp) {
			t.Fatalf("got %d to %q (clears the session: %v), want 303 clearing it", resp.StatusCode, resp.Header.Get("Location"), clearsSession(resp))
		}
		if !strings.HasPrefix(loc.String(), op.Issuer()+"/session/end?") || loc.Query().Get("client_id") != edgeClientID || loc.Query().Get("post_logout_redirect_uri") != e.caddy.URL()+"/" {
			t.Errorf("end_session request %q, want client_id %s and post_logout_redirect_uri %s/", loc, edgeClientID, e.caddy.URL())
		}
		if r, _ := api(t, c, "GET", e.caddy.URL()+"/"); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("after logout / answered %d, want 401", r.StatusCode)
		}
	})
}
