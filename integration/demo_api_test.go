package integration

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/demo"
)

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

	// Around Caddy, the backend trusts no header: without Caddy's signed
	// assertion (here a forged one) it refuses.
	for _, forged := range [][]string{{"X-User", "alice"}, {"Stepup-Assertion", "eyJhbGciOiJFUzI1NiJ9.e30.AAAA"}} {
		req, _ := http.NewRequest("GET", d.Backend+"/api/me", nil)
		req.Header.Set(forged[0], forged[1])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("the backend reached directly with a forged %s answered %d, want 403", forged[0], resp.StatusCode)
		}
	}

	// The protected site believes X-Demo-Client-IP only from the simulator's
	// address: sent straight to it, the header is ignored.
	m := regexp.MustCompile(`Protected site  https://localhost:(\d+) `).FindStringSubmatch(d.Logs())
	if m == nil {
		t.Fatal("the banner does not name the protected site")
	}
	mark := d.Mark(t)
	direct, err := http.NewRequest("GET", "https://localhost:"+m[1]+"/api/forged-header", nil)
	if err != nil {
		t.Fatal(err)
	}
	direct.Header.Set("X-Demo-Client-IP", "192.0.2.100")
	if resp, err := c.Do(direct); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	if e := d.WaitEvent(t, mark, "the direct request", func(e demo.Event) bool { return e.Kind == "request" && e.Path == "/api/forged-header" }); e.ClientIP != "127.0.0.1" {
		t.Errorf("a header sent straight to the protected site set client_ip %q, want the connection's 127.0.0.1", e.ClientIP)
	}
	// Through the simulator, the client's own X-Demo-Client-IP is replaced.
	mark = d.Mark(t)
	get("GET", "/api/simulated", "X-Demo-Client-IP", "192.0.2.100")
	if e := d.WaitEvent(t, mark, "the simulated request", func(e demo.Event) bool { return e.Kind == "request" && e.Path == "/api/simulated" }); e.ClientIP != "198.51.100.10" {
		t.Errorf("through the simulator a client's own header set client_ip %q, want home 198.51.100.10", e.ClientIP)
	}

	// The site's security headers come from the Caddyfile.
	resp, _ := get("GET", "/")
	for name, want := range map[string]string{
		"Content-Security-Policy":   "frame-ancestors 'none'",
		"Strict-Transport-Security": "max-age=",
		"X-Content-Type-Options":    "nosniff",
	} {
		if got := resp.Header.Get(name); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want it to contain %q", name, got, want)
		}
	}

	// The banner's stepup-explain line runs, as printed, against the demo's config.
	explain := regexp.MustCompile(`(?m)^\s+(STEPUP_DEMO_CLIENT_SECRET=x .*stepup-explain .*) \\\n\s+(--url .*)$`).FindStringSubmatch(d.Logs())
	if explain == nil {
		t.Fatal("the banner has no stepup-explain line")
	}
	cmd := exec.Command("bash", "-c", explain[1]+" "+explain[2])
	cmd.Dir = filepath.Dir(d.DataDir) // where the demo runs
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), "rule: admin") || !strings.Contains(string(out), "challenge (acr)") {
		t.Errorf("%s %s: %v\n%s", explain[1], explain[2], err, out)
	}

	resp, _ = get("GET", "/admin", "Accept", "text/html", "Sec-Fetch-Mode", "navigate")
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
