package stepup

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddyserver/caddy/v2/caddyconfig"

	// The handlers a real site puts around stepup (reverse_proxy, respond, ...).
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

const explainCaddyfile = `
{
	admin off
}
https://app.example.com {
	stepup {
		issuer https://idp.example.com
		client_id edge
		acr_levels urn:pwd urn:mfa
		rule admin {
			match /admin*
			acr urn:mfa
			max_age 10m
		}
		rule transfer {
			match {
				method POST
				path /transfer
			}
			max_age 0
			report_only
		}
	}
	reverse_proxy 127.0.0.1:9
}
`

func adapt(t *testing.T, caddyfile string) []byte {
	t.Helper()
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func explainFor(t *testing.T, caddyfile string, q explainQuery) *explanation {
	t.Helper()
	if q.IP == "" {
		q.IP = "203.0.113.9"
	}
	e, err := runExplain(adapt(t, caddyfile), q)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestExplainNamesTheRuleWhatItDemandsAndTheChallenge(t *testing.T) {
	e := explainFor(t, explainCaddyfile, explainQuery{Method: "GET", URL: "https://app.example.com/admin/users"})
	if e.Verdict != verdictChallenge || e.Status != 401 || len(e.Stepup) != 1 {
		t.Fatalf("explanation: %+v", e)
	}
	s := e.Stepup[0]
	if s.Rule != "admin" || s.ACR != "urn:mfa" || s.MaxAge != "10m0s" || s.Reason != decision.ReasonNoSession {
		t.Errorf("step: %+v", s)
	}
	if got := e.Headers["Www-Authenticate"]; !strings.Contains(got, `acr_values="urn:mfa", max_age=600`) {
		t.Errorf("WWW-Authenticate: %q", got)
	}
	var out bytes.Buffer
	if err := e.print(&out, explainQuery{Method: "GET", URL: "https://app.example.com/admin/users", IP: "203.0.113.9"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"rule: admin", "acr urn:mfa", "max_age 10m0s", "verdict: challenge", "401 Unauthorized"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in:\n%s", want, out.String())
		}
	}
}

func TestExplainJudgesADescribedSessionSealedWithTheHandlersKeys(t *testing.T) {
	stale := explainFor(t, explainCaddyfile, explainQuery{Method: "GET", URL: "https://app.example.com/admin", ACR: "urn:mfa", AuthAge: 20 * time.Minute})
	if stale.Verdict != verdictChallenge || stale.Stepup[0].Reason != decision.ReasonMaxAge {
		t.Errorf("a 20 minute old login should need a step-up: %+v %+v", stale, stale.Stepup[0])
	}
	fresh := explainFor(t, explainCaddyfile, explainQuery{Method: "GET", URL: "https://app.example.com/admin", ACR: "urn:mfa", AuthAge: time.Minute})
	if fresh.Verdict != verdictPass || fresh.Reached != "reverse_proxy" || fresh.Status != 0 {
		t.Errorf("a fresh strong login should pass on to the proxy (which explain does not run): %+v", fresh)
	}
}

func TestExplainShowsReportOnlyRulesUnmatchedRequestsAndBrowserLogins(t *testing.T) {
	if e := explainFor(t, explainCaddyfile, explainQuery{Method: "POST", URL: "https://app.example.com/transfer"}); e.Verdict != verdictReportOnly || e.Stepup[0].Rule != "transfer" || !e.Stepup[0].ReportOnly {
		t.Errorf("report-only rule: %+v", e)
	}
	if e := explainFor(t, explainCaddyfile, explainQuery{Method: "GET", URL: "https://app.example.com/"}); e.Verdict != verdictUnprotected || e.Reached != "reverse_proxy" {
		t.Errorf("unmatched request: %+v", e)
	}
	nav := explainQuery{Method: "GET", URL: "https://app.example.com/admin", Headers: []string{"Accept: text/html", "Sec-Fetch-Mode: navigate"}}
	if e := explainFor(t, explainCaddyfile, nav); e.Verdict != verdictLogin || !e.Stepup[0].NeedsIdP || e.Status != 0 {
		t.Errorf("a browser navigation needing a login: %+v", e)
	}
}

// The old explain walked every route whose matchers matched; Caddy runs
// only the first matching route of a handle group.
func TestExplainHonoursHandleGroupExclusivity(t *testing.T) {
	const site = `
https://app.example.com {
	handle /api/* {
		respond "api"
	}
	handle {
		# Caddy orders log_append before stepup; explain runs it.
		log_append who {http.auth.user.id}
		stepup {
			issuer https://idp.example.com
			client_id edge
			require_login all
		}
		respond "app"
	}
}
`
	api := explainFor(t, site, explainQuery{Method: "GET", URL: "https://app.example.com/api/x"})
	if api.Verdict != verdictNoStepup || api.Status != 200 || api.Body != "api" {
		t.Errorf("/api/x is answered by the first handle, stepup never sees it: %+v", api)
	}
	app := explainFor(t, site, explainQuery{Method: "GET", URL: "https://app.example.com/home"})
	if app.Verdict != verdictChallenge || app.Stepup[0].Rule != decision.DefaultName {
		t.Errorf("/home: %+v", app)
	}
}

// The old explain visited every server, in map order, whatever the port.
func TestExplainPicksTheServerListeningOnTheURLsPort(t *testing.T) {
	const sites = `
https://app.example.com:8443 {
	stepup {
		issuer https://idp.example.com
		client_id edge
		require_login all
	}
	respond "admin port"
}
https://app.example.com {
	respond "public"
}
`
	public := explainFor(t, sites, explainQuery{Method: "GET", URL: "https://app.example.com/"})
	if public.Verdict != verdictNoStepup || public.Body != "public" {
		t.Errorf("port 443: %+v", public)
	}
	admin := explainFor(t, sites, explainQuery{Method: "GET", URL: "https://app.example.com:8443/"})
	if admin.Verdict != verdictChallenge || len(admin.Listen) != 1 || admin.Listen[0] != ":8443" {
		t.Errorf("port 8443: %+v", admin)
	}
	if _, err := runExplain(adapt(t, sites), explainQuery{Method: "GET", URL: "https://app.example.com:9999/", IP: "203.0.113.9"}); err == nil || !strings.Contains(err.Error(), "no server listens on port 9999") {
		t.Errorf("a port no server listens on: %v", err)
	}
}

// The old explain never ran the risk engine: a request the server refuses
// was reported as passing.
func TestExplainRunsTheRiskEngineAndReportsADenial(t *testing.T) {
	list := filepath.Join(t.TempDir(), "blocklist.txt")
	if err := os.WriteFile(list, []byte("198.51.100.0/24\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	site := `
https://app.example.com {
	stepup {
		issuer https://idp.example.com
		client_id edge
		risk {
			step_up 30
			deny 50
			ip_reputation {
				file ` + list + `
				weight 60
			}
		}
	}
	respond "ok"
}
`
	bad := explainFor(t, site, explainQuery{Method: "GET", URL: "https://app.example.com/", IP: "198.51.100.7", ACR: "urn:pwd"})
	if bad.Verdict != verdictDenied || bad.Status != 403 || bad.Stepup[0].RiskScore != "60" || !strings.Contains(bad.Stepup[0].RiskReasons, "ip_reputation=60") {
		t.Errorf("a blocklisted address: %+v %+v", bad, bad.Stepup)
	}
	good := explainFor(t, site, explainQuery{Method: "GET", URL: "https://app.example.com/", IP: "203.0.113.9", ACR: "urn:pwd"})
	if good.Verdict != verdictUnprotected || good.Body != "ok" {
		t.Errorf("a clean address: %+v", good)
	}
}

// The old explain provisioned handlers with a bare context, whose logger is
// zap's development logger: every warning came with a stack trace.
func TestExplainLogsWarningsOnOneLineWithoutStackTraces(t *testing.T) {
	site := `
http://127.0.0.1:8080 {
	stepup {
		issuer ` + deadIssuer(t) + `
		client_id edge
		insecure_loopback_http
		require_login all
	}
	respond "ok"
}
`
	logFile := filepath.Join(t.TempDir(), "explain.log")
	e, err := runExplain(adapt(t, site), explainQuery{Method: "GET", URL: "http://127.0.0.1:8080/", IP: "127.0.0.1", logFile: logFile})
	logged, _ := os.ReadFile(logFile)
	if err != nil || e.Verdict != verdictChallenge {
		t.Fatalf("explain: %v %+v", err, e)
	}
	lines := strings.Split(strings.TrimSpace(string(logged)), "\n")
	if !strings.Contains(string(logged), "INSECURE: insecure_loopback_http") {
		t.Fatalf("the provisioning warning was not logged:\n%s", logged)
	}
	for _, line := range lines {
		if !strings.HasPrefix(line, "{") || strings.Contains(line, ".go:") {
			t.Errorf("not a production log line (stack trace or caller): %q", line)
		}
	}
}

func TestExplainSaysABearerTokenIsCheckedAtTheIdPNotThatABrowserIsRedirected(t *testing.T) {
	site := strings.Replace(explainCaddyfile, "client_id edge", "client_id edge\n\t\tbearer_audience https://api.example.com", 1)
	e := explainFor(t, site, explainQuery{Method: "GET", URL: "https://app.example.com/admin", Headers: []string{"Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.e30.sig"}})
	if e.Verdict != verdictNeedsIdP || !e.Stepup[0].NeedsIdP {
		t.Errorf("a bearer token on a protected path: %+v %+v", e, e.Stepup)
	}
}

func TestExplainShowsTheAnswerHandleErrorsRenders(t *testing.T) {
	site := strings.Replace(explainCaddyfile, "\treverse_proxy 127.0.0.1:9\n", "\treverse_proxy 127.0.0.1:9\n\thandle_errors {\n\t\trespond \"styled {err.status_code} {http.stepup.error}\"\n\t}\n", 1)
	e := explainFor(t, site, explainQuery{Method: "GET", URL: "https://app.example.com/admin"})
	if e.Verdict != verdictChallenge || e.Status != 401 || e.Body != "styled 401 insufficient_user_authentication" || e.Headers["Www-Authenticate"] == "" {
		t.Errorf("a challenge restyled by handle_errors: %+v", e)
	}
}
