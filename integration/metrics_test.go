package integration

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/caddyproc"
	"github.com/caddy-stepup/caddy-stepup/integration/internal/hydra"
)

// The metrics are checked the way Prometheus would see them: scraped from
// a real Caddy's metrics handler after a known sequence of requests, and
// compared with Prometheus's own test helper.
func TestMetricsCountChallengesAndLoginsOnARealCaddy(t *testing.T) {
	e := &env{idp: hydra.Start(t, hydra.Options{}), upstream: startUpstream(t)}
	e.caddy = caddyproc.Start(t, caddyproc.Options{
		Site: fmt.Sprintf(`	handle /metrics {
		metrics
	}
	handle {
%s
	}`, strings.Replace(siteConfig(e.idp.Issuer(), e.upstream.URL, ""), "require_login all", "require_login rules", 1)),
		Env: []string{"STEPUP_TEST_SECRET=" + edgeSecret},
	})
	e.client = e.registerEdge(t, e.caddy)
	b := e.caddy.Client()

	if resp, _ := api(t, b, "GET", e.caddy.URL()+"/admin"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("API request without a session: %d", resp.StatusCode)
	}
	e.grant("alice", acrPwd, "pwd") // too weak for /admin: retried once with prompt=login, then refused
	if v := navigate(t, b, e.caddy.URL()+"/admin"); v.status != http.StatusForbidden {
		t.Fatalf("weak login: %d", v.status)
	}
	e.grant("alice", acrMFA, "pwd", "otp")
	navigate(t, b, e.caddy.URL()+"/admin").echoed(t)
	navigate(t, b, e.caddy.URL()+"/public").echoed(t)

	want := `
# HELP caddy_stepup_challenges_total Step-up challenges, by rule, reason (no_session, acr, amr, max_age, risk, invalid_token) and mode (enforce, or report_only when the challenge was only recorded).
# TYPE caddy_stepup_challenges_total counter
caddy_stepup_challenges_total{mode="enforce",reason="no_session",rule="admin"} 3
# HELP caddy_stepup_logins_total Completed step-up logins (result=success), refused ones (result=failure) and ones retried once with prompt=login (result=retry) by reason (state, code, nonce, token, acr, amr, auth_time, subject, idp, internal).
# TYPE caddy_stepup_logins_total counter
caddy_stepup_logins_total{reason="",result="success"} 1
caddy_stepup_logins_total{reason="acr",result="failure"} 1
caddy_stepup_logins_total{reason="acr",result="retry"} 1
`
	// ScrapeAndCompare uses a default HTTP client, which does not trust
	// Caddy's local CA: relay the scrape over loopback HTTP.
	relay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		resp, err := e.caddy.Client().Get(e.caddy.URL() + "/metrics")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		_, _ = io.Copy(w, resp.Body)
	}))
	defer relay.Close()
	err := testutil.ScrapeAndCompare(relay.URL, strings.NewReader(want), "caddy_stepup_challenges_total", "caddy_stepup_logins_total")
	if err != nil {
		t.Fatal(err)
	}
}
