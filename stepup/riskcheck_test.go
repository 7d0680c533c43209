package stepup

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/risk"
)

// blocklist writes an IP list in the plain one-CIDR-per-line format.
func blocklist(t *testing.T, lines ...string) string {
	path := filepath.Join(t.TempDir(), "blocklist.txt")
	if err := os.WriteFile(path, []byte("# test list\n"+strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func withRisk(list string, weight int, configure func(c *risk.Config)) func(h *Handler) {
	return func(h *Handler) {
		h.Risk = &risk.Config{
			IPReputation: &risk.IPReputationConfig{Files: []string{list}, Weight: weight},
			StepUp:       50, Deny: 90, ACR: []string{"urn:otp"},
		}
		if configure != nil {
			configure(h.Risk)
		}
	}
}

// fromIP sets Caddy's client_ip for the request, as the server would.
func fromIP(r *http.Request, ip string) *http.Request {
	r.RemoteAddr = ip + ":40000"
	return r
}

func (th *testHandler) serveFrom(t *testing.T, r *http.Request, ip string) served {
	t.Helper()
	r = fromIP(r, ip)
	ctx := r.Context()
	vars := map[string]any{caddyhttp.ClientIPVarKey: ip}
	return th.serve(t, r.WithContext(contextWithVars(ctx, vars)))
}

func TestRiskyAddressNeedsTheRiskACREvenWithoutARule(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), withRisk(blocklist(t, "203.0.113.0/24", "2001:db8:bad::/48"), 60, nil))
	weak := th.cookieFor(t, th.session("urn:pwd"))
	out := th.serveFrom(t, request("GET", "http://127.0.0.1/public", "Cookie", weak, "Accept", "application/json"), "203.0.113.7")
	if out.rec.Code != http.StatusUnauthorized {
		t.Fatalf("risky request with a weak session: %d", out.rec.Code)
	}
	var body challengeBody
	_ = json.Unmarshal(out.rec.Body.Bytes(), &body)
	if !strings.Contains(body.ErrorDescription, "additional verification is required") || body.ACRValues != "urn:otp" {
		t.Fatalf("challenge: %+v", body)
	}
	if got, _ := out.repl.GetString("http.stepup.risk.score"); got != "60" {
		t.Fatalf("{http.stepup.risk.score} = %q", got)
	}
	if out := th.serveFrom(t, request("GET", "http://127.0.0.1/public", "Cookie", weak), "198.51.100.1"); out.upstream == nil {
		t.Fatalf("an unlisted address was challenged: %d", out.rec.Code)
	}
	v6 := th.serveFrom(t, request("GET", "http://127.0.0.1/public", "Cookie", weak, "Accept", "application/json"), "2001:db8:bad::1")
	if v6.rec.Code != http.StatusUnauthorized {
		t.Fatalf("listed IPv6 address: %d", v6.rec.Code)
	}
	strong := th.cookieFor(t, th.session("urn:otp"))
	if out := th.serveFrom(t, request("GET", "http://127.0.0.1/public", "Cookie", strong), "203.0.113.7"); out.upstream == nil {
		t.Fatalf("a strong session from a listed address was refused: %d", out.rec.Code)
	}
}

func TestScoreAboveDenyIsRefused(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), withRisk(blocklist(t, "203.0.113.0/24"), 95, nil))
	out := th.serveFrom(t, request("GET", "http://127.0.0.1/public", "Cookie", th.cookieFor(t, th.session("urn:otp")), "Accept", "application/json"), "203.0.113.7")
	if out.rec.Code != http.StatusForbidden || out.upstream != nil {
		t.Fatalf("score 95 with deny 90: %d", out.rec.Code)
	}
}

func TestRuleThresholdOverridesTheRiskBlock(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), func(h *Handler) {
		withRisk(blocklist(t, "203.0.113.0/24"), 60, nil)(h)
		h.Rules[0].RiskDeny = 55 // admin denies earlier
	})
	cookie := th.cookieFor(t, th.session("urn:otp"))
	if out := th.serveFrom(t, request("GET", "http://127.0.0.1/admin", "Cookie", cookie), "203.0.113.7"); out.rec.Code != http.StatusForbidden {
		t.Fatalf("admin with risk_deny 55 at score 60: %d", out.rec.Code)
	}
	if out := th.serveFrom(t, request("GET", "http://127.0.0.1/public", "Cookie", cookie), "203.0.113.7"); out.upstream == nil {
		t.Fatalf("other paths keep the block's deny 90: %d", out.rec.Code)
	}
}

func TestRiskReportOnlyRecordsButLetsThrough(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), withRisk(blocklist(t, "203.0.113.0/24"), 95, func(c *risk.Config) { c.ReportOnly = true }))
	before := testutil.ToFloat64(sharedMetrics().challenges.WithLabelValues(decision.RiskName, "risk_deny", outcomeReportOnly))
	out := th.serveFrom(t, request("GET", "http://127.0.0.1/public", "Cookie", th.cookieFor(t, th.session("urn:pwd"))), "203.0.113.7")
	if out.upstream == nil {
		t.Fatalf("report-only risk blocked: %d", out.rec.Code)
	}
	if got := testutil.ToFloat64(sharedMetrics().challenges.WithLabelValues(decision.RiskName, "risk_deny", outcomeReportOnly)); got != before+1 {
		t.Fatal("the skipped denial was not counted")
	}
}

func TestRiskScoreIsVisibleToTheStepupRiskMatcher(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), withRisk(blocklist(t, "203.0.113.0/24"), 30, nil))
	var seen any
	r := fromIP(request("GET", "http://127.0.0.1/public"), "203.0.113.7")
	r = r.WithContext(contextWithVars(r.Context(), map[string]any{caddyhttp.ClientIPVarKey: "203.0.113.7"}))
	out := th.serve(t, r)
	if out.upstream != nil {
		seen = caddyhttp.GetVar(out.upstream.Context(), risk.ScoreVar)
	}
	if seen != 30 {
		t.Fatalf("score var = %v, want 30", seen)
	}
}

func TestNewDeviceSignalHandsOutADeviceCookie(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), withRisk(blocklist(t, "203.0.113.0/24"), 30, func(c *risk.Config) {
		c.NewDevice = &risk.NewDeviceConfig{Weight: 10}
	}))
	out := th.serveFrom(t, request("GET", "http://127.0.0.1/public"), "198.51.100.1")
	var device *http.Cookie
	for _, c := range out.rec.Result().Cookies() {
		if c.Name == risk.DeviceCookieName {
			device = c
		}
	}
	if device == nil || !risk.ValidDeviceID(device.Value) || !device.HttpOnly {
		t.Fatalf("device cookie: %+v", device)
	}
}

// An API client's risk challenge hands out a step_up_url; following it
// starts a login for the risk requirement, not a 400 for an unknown rule.
func TestTheRiskChallengesStepUpURLStartsARiskLogin(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, withRisk(blocklist(t, "203.0.113.0/24"), 60, nil))
	weak := th.cookieFor(t, th.session("urn:pwd"))
	out := th.serveFrom(t, request("GET", "http://127.0.0.1/public", "Cookie", weak, "Accept", "application/json"), "203.0.113.7")
	var body challengeBody
	if err := json.Unmarshal(out.rec.Body.Bytes(), &body); err != nil || out.rec.Code != http.StatusUnauthorized || body.StepUpURL == "" {
		t.Fatalf("risk challenge: %d %s", out.rec.Code, out.rec.Body)
	}
	login := th.serveFrom(t, request("GET", body.StepUpURL, "Cookie", weak), "203.0.113.7")
	if login.rec.Code != http.StatusFound {
		t.Fatalf("following step_up_url %s: %d %s", body.StepUpURL, login.rec.Code, login.rec.Body)
	}
	plain, err := th.sealer.Open(context.Background(), flowPurpose, flowCookiesOf(login.rec.Result().Cookies())[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	var f flowState
	if err := json.Unmarshal(plain, &f); err != nil || f.Rule != decision.RiskName || strings.Join(f.ACR, " ") != "urn:otp" {
		t.Fatalf("flow = %+v, %v; want the risk requirement", f, err)
	}
}
