package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/caddyproc"
)

// errorPagesSite protects /admin (a login) and /vault (refused above a risk
// score of 50; every loopback client scores 60), against an IdP that is
// down, so that a real Caddy answers each kind of refusal without one:
// 401 (API challenge), 403 (risk), 503 (a browser needing the IdP) and 400
// (a callback no login started). extra goes into the site block.
func errorPagesSite(t *testing.T, extra string) string {
	dead := httptest.NewServer(http.NotFoundHandler())
	issuer := dead.URL
	dead.Close()
	list := filepath.Join(t.TempDir(), "blocklist.txt")
	if err := os.WriteFile(list, []byte("127.0.0.0/8\n::1/128\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf(`	stepup {
		issuer %s
		client_id %s
		insecure_loopback_http
		rule admin {
			match /admin*
		}
		rule vault {
			match /vault*
			risk_deny 50
		}
		risk {
			step_up 90
			deny 95
			ip_reputation {
				file %s
				weight 60
			}
		}
	}
	%s
	respond "upstream"`, issuer, edgeClientID, list, extra)
}

type refusalCase struct {
	name   string
	path   string
	nav    bool
	status int
	code   string // {http.stepup.error}
	header string // a header the client needs, kept through handle_errors
}

var refusalCases = []refusalCase{
	{"an API challenge", "/admin/users", false, http.StatusUnauthorized, "insufficient_user_authentication", "Www-Authenticate"},
	{"a risk denial", "/vault", false, http.StatusForbidden, "access_denied", "Cache-Control"},
	{"an IdP outage", "/admin", true, http.StatusServiceUnavailable, "temporarily_unavailable", "Retry-After"},
	{"a refused login", "/.stepup/callback?state=none&code=none", true, http.StatusBadRequest, "login_failed", "Cache-Control"},
}

func fetchRefusal(t *testing.T, c *caddyproc.Caddy, rc refusalCase) (*http.Response, string) {
	t.Helper()
	u, err := url.Parse(c.URL() + rc.path)
	if err != nil {
		t.Fatal(err)
	}
	req := navigation(u)
	if !rc.nav {
		req, _ = http.NewRequest(http.MethodGet, u.String(), nil)
		req.Header.Set("Accept", "application/json")
	}
	resp, err := c.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// A site's handle_errors restyles stepup's refusals, which keep their status
// and the headers the client needs, and can use {http.stepup.*}.
func TestHandleErrorsRestylesStepupRefusals(t *testing.T) {
	c := caddyproc.Start(t, caddyproc.Options{Site: errorPagesSite(t, `handle_errors {
		respond "styled {err.status_code} {http.stepup.error}: {http.stepup.error_description}"
	}`)})
	for _, rc := range refusalCases {
		t.Run(rc.name, func(t *testing.T) {
			resp, body := fetchRefusal(t, c, rc)
			want := fmt.Sprintf("styled %d %s: ", rc.status, rc.code)
			if resp.StatusCode != rc.status || !strings.HasPrefix(body, want) || len(body) == len(want) {
				t.Fatalf("%s: %d %q, want %d %q followed by a description", rc.path, resp.StatusCode, body, rc.status, want)
			}
			if resp.Header.Get(rc.header) == "" {
				t.Errorf("%s: %s lost on the way through handle_errors", rc.path, rc.header)
			}
		})
	}
}

// Without handle_errors, the refusals carry their own bodies: the RFC 9470
// JSON for API clients, a page for browsers.
func TestWithoutHandleErrorsStepupWritesItsOwnBodies(t *testing.T) {
	c := caddyproc.Start(t, caddyproc.Options{Site: errorPagesSite(t, "")})
	for _, rc := range refusalCases {
		t.Run(rc.name, func(t *testing.T) {
			resp, body := fetchRefusal(t, c, rc)
			if resp.StatusCode != rc.status || body == "" {
				t.Fatalf("%s: %d %q", rc.path, resp.StatusCode, body)
			}
			if rc.nav {
				return
			}
			var got struct {
				Error     string `json:"error"`
				StepUpURL string `json:"step_up_url"`
			}
			if err := json.Unmarshal([]byte(body), &got); err != nil || got.Error != rc.code {
				t.Fatalf("%s: body %q is not the JSON for %s: %v", rc.path, body, rc.code, err)
			}
			if rc.status == http.StatusUnauthorized && !strings.Contains(got.StepUpURL, "/.stepup/login?") {
				t.Errorf("%s: step_up_url %q", rc.path, got.StepUpURL)
			}
		})
	}
}
