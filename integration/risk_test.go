package integration

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/caddyproc"
	"github.com/caddy-stepup/caddy-stepup/integration/internal/hydra"
	"github.com/caddy-stepup/caddy-stepup/internal/mmdbtest"
)

// Addresses of the generated test databases (internal/mmdbtest).
const (
	ipLondon = mmdbtest.London // GB
	ipMilton = mmdbtest.Milton // US
	ipListed = "203.0.113.7"   // on the test blocklist, in no database
)

// cityDB writes the generated City database for one test and returns its
// absolute path.
func cityDB(t *testing.T) string {
	t.Helper()
	dbs, err := mmdbtest.WriteAll(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return dbs.City
}

// forwardedFor makes every request to the site claim to come from *ip, the
// way a trusted proxy in front of Caddy would report it.
type forwardedFor struct {
	next http.RoundTripper
	host string
	ip   *atomic.Value
}

func (f forwardedFor) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == f.host {
		r = r.Clone(r.Context())
		r.Header.Set("X-Forwarded-For", f.ip.Load().(string))
	}
	return f.next.RoundTrip(r)
}

func clientFrom(c *caddyproc.Caddy, ip *atomic.Value) *http.Client {
	client := c.Client()
	client.Transport = forwardedFor{next: client.Transport, host: strings.TrimPrefix(c.URL(), "https://"), ip: ip}
	return client
}

func riskSite(t *testing.T, e *env, extra string) string {
	list := filepath.Join(t.TempDir(), "blocklist.netset")
	if err := os.WriteFile(list, []byte("# test blocklist\n203.0.113.0/24\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return siteConfig(e.idp.Issuer(), e.upstream.URL, fmt.Sprintf(`risk {
			step_up 50
			deny 100
			acr %s
			%s
			ip_reputation {
				file %s
				weight 60
			}
			location {
				country_db %s
				country_change 60
			}
			frequency {
				window 1m
				limit 30
				weight 60
			}
			new_device {
				weight 60
			}
		}`, acrMFA, extra, list, cityDB(t)))
}

const trustLoopbackProxy = `servers {
		trusted_proxies static 127.0.0.1/32 ::1/128
	}`

func newRiskEnv(t *testing.T, extra string) *env {
	e := &env{idp: hydra.Start(t, hydra.Options{}), upstream: startUpstream(t)}
	e.caddy = caddyproc.Start(t, caddyproc.Options{
		Site:   riskSite(t, e, extra),
		Env:    []string{"STEPUP_TEST_SECRET=" + edgeSecret},
		Global: trustLoopbackProxy,
	})
	e.client = e.registerEdge(t, e.caddy)
	return e
}

// signedInFromLondon starts a risk site and signs alice in with a password
// from London; storing another address in ip moves the client afterwards.
func signedInFromLondon(t *testing.T, extra string) (*env, *http.Client, *atomic.Value) {
	t.Helper()
	return signedInFromLondonThrough(t, extra, "/")
}

// signedInFromLondonThrough is signedInFromLondon with the browser's first
// visit at path (the login is made on the way).
func signedInFromLondonThrough(t *testing.T, extra, path string) (*env, *http.Client, *atomic.Value) {
	t.Helper()
	e := newRiskEnv(t, extra)
	ip := new(atomic.Value)
	ip.Store(ipLondon)
	b := clientFrom(e.caddy, ip)
	e.grant("alice", acrPwd, "pwd")
	if got := navigate(t, b, e.caddy.URL()+path).echoed(t); got.User != "alice" {
		t.Fatalf("login from London through %s: %+v", path, got)
	}
	return e, b, ip
}

// riskChallenge fetches / as an API client and returns the challenge's
// error_description, or "" when the request passed.
func riskChallenge(t *testing.T, c *http.Client, site string) string {
	t.Helper()
	resp, body := api(t, c, "GET", site+"/")
	switch resp.StatusCode {
	case http.StatusOK:
		return ""
	case http.StatusUnauthorized:
		var ch challengeBody
		if err := json.Unmarshal([]byte(body), &ch); err != nil {
			t.Fatalf("401 without a challenge body: %s", body)
		}
		return ch.ErrorDescription
	}
	t.Fatalf("unexpected %d: %s", resp.StatusCode, body)
	return ""
}

type challengeBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ACRValues        string `json:"acr_values"`
}

func TestRiskStepsUpTheSameSessionOnlyWhenSignalsFire(t *testing.T) {
	e, b, ip := signedInFromLondon(t, "expose_reasons")
	if d := riskChallenge(t, b, e.caddy.URL()); d != "" {
		t.Fatalf("same place, same device was challenged: %s", d)
	}

	ip.Store(ipListed)
	if d := riskChallenge(t, b, e.caddy.URL()); !strings.Contains(d, "ip_reputation=60") {
		t.Fatalf("blocklisted address: %q", d)
	}

	ip.Store(ipMilton)
	if d := riskChallenge(t, b, e.caddy.URL()); !strings.Contains(d, "country_change=60") {
		t.Fatalf("another country than at login: %q", d)
	}

	ip.Store(ipLondon)
	stranger := clientFrom(e.caddy, ip) // same session cookie, no device cookie
	req, _ := http.NewRequest("GET", e.caddy.URL()+"/", nil)
	req.Header.Set("Accept", "application/json")
	req.AddCookie(sessionCookie(t, b, e.caddy.URL()))
	resp, err := stranger.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ch challengeBody
	_ = json.NewDecoder(resp.Body).Decode(&ch)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(ch.ErrorDescription, "new_device=60") {
		t.Fatalf("session replayed from another device: %d %q", resp.StatusCode, ch.ErrorDescription)
	}

	burst := ""
	for range 40 {
		if burst = riskChallenge(t, b, e.caddy.URL()); burst != "" {
			break
		}
	}
	if !strings.Contains(burst, "frequency_session=60") {
		t.Fatalf("a burst above the limit was not stepped up: %q", burst)
	}

	// Stepping up with the strong acr satisfies the risk requirement.
	e.grant("alice", acrMFA, "pwd", "otp")
	ip.Store(ipListed)
	if got := navigate(t, b, e.caddy.URL()+"/settings").echoed(t); got.ACR != acrMFA {
		t.Fatalf("after the risk step-up: %+v", got)
	}
}

func TestRiskReportOnlyNeverChallengesButLogs(t *testing.T) {
	e, b, ip := signedInFromLondon(t, "report_only")
	ip.Store(ipListed)
	if d := riskChallenge(t, b, e.caddy.URL()); d != "" {
		t.Fatalf("report-only risk challenged: %s", d)
	}
	if logs := e.caddy.Logs(); !strings.Contains(logs, `"reason":"risk","mode":"report_only"`) {
		t.Fatal("the report-only risk step-up was not logged")
	}
}

// A reload with the same MaxMind database reuses the copy already in
// memory instead of reading it again, and risk keeps scoring after it.
func TestRiskReloadSharesTheLoadedDatabase(t *testing.T) {
	e, b, ip := signedInFromLondon(t, "expose_reasons")

	if n := strings.Count(e.caddy.Logs(), `"shared_with_another_config":false`); n != 1 {
		t.Fatalf("before the reload: %d fresh database loads logged, want 1", n)
	}
	e.caddy.Reload(e.caddy.Site())
	if n := strings.Count(e.caddy.Logs(), `"shared_with_another_config":true`); n != 1 {
		t.Fatalf("after the reload: %d shared database loads logged, want 1\n%s", n, e.caddy.Logs())
	}
	if n := strings.Count(e.caddy.Logs(), `"shared_with_another_config":false`); n != 1 {
		t.Fatalf("the reload read the database again (%d fresh loads logged)", n)
	}
	// The same session, now from another country: the reloaded config
	// scores location with the shared database.
	if d := riskChallenge(t, b, e.caddy.URL()); d != "" {
		t.Fatalf("from the login's country after the reload: challenged (%s)", d)
	}
	ip.Store(ipMilton)
	if d := riskChallenge(t, b, e.caddy.URL()); !strings.Contains(d, "country_change") {
		t.Fatalf("from another country after the reload: %q, want a country_change step-up", d)
	}
}
