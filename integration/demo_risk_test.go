package integration

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/browser"
	"github.com/caddy-stepup/caddy-stepup/integration/internal/demo"
)

// TestDemoRiskSimulationsStepUpOrDeny drives the demo's network simulator
// from the decision panel, in headless Chromium: arriving from another
// country, from another device and as a burst each lead to a risk step-up;
// a blocklisted address is denied, and with the report-only switch it only
// logs "would be denied". The panel (Caddy's own logs) must show each score
// with its signals.
func TestDemoRiskSimulationsStepUpOrDeny(t *testing.T) {
	d := demo.Start(t, demo.Options{})
	b := browser.New(t, browser.WithTimeout(4*time.Minute))
	loginPage := func(u string) bool { return strings.HasPrefix(u, d.Issuer+"/login?") }
	on := func(path string) func(string) bool { return func(u string) bool { return u == d.URL+path } }
	riskStepUp := func(signal string) func(demo.Event) bool {
		return func(e demo.Event) bool {
			return e.Msg == "step-up required" && e.Rule == "risk" && e.Reason == "risk" && strings.Contains(e.Reasons, signal)
		}
	}
	signInAgain := func(shot string) {
		t.Helper()
		b.WaitURL("the IdP", loginPage)
		b.WaitText("Sign in again")
		b.Type("#password", "wonderland")
		b.Click("#submit")
		b.WaitText("Second factor")
		b.Type("#code", d.TakeCode(t))
		b.Screenshot(t, shot)
		b.Click("#submit")
	}
	choose := func(name, value string) {
		t.Helper()
		b.Navigate(d.URL + "/demo/")
		b.WaitText("Simulate")
		b.Click(`input[name="` + name + `"][value="` + value + `"]`)
	}

	// Sign in from home (London) with password and code.
	b.Navigate(d.URL + "/admin")
	b.WaitURL("the IdP's login page", loginPage)
	b.Type("#username", "alice")
	b.Type("#password", "wonderland")
	b.Click("#submit")
	b.WaitText("Second factor")
	b.Type("#code", d.TakeCode(t))
	b.Click("#submit")
	b.WaitURL("the admin page", on("/admin"))
	b.WaitText("Admin console")

	// Another country: London -> Milton, WA within seconds. The score
	// crosses step_up (50): the IdP is asked for a new sign-in with the code.
	choose("network", "abroad")
	b.Screenshot(t, "panel-network-abroad")
	mark := d.Mark(t)
	b.Navigate(d.URL + "/transfer")
	e := d.WaitEvent(t, mark, "a risk step-up for a country change", riskStepUp("country_change="))
	if score, _ := strconv.Atoi(e.Score); score <= 50 || score > 90 || !strings.Contains(e.Reasons, "impossible_travel=") || e.ClientIP != "192.0.2.100" {
		t.Errorf("abroad: %v", e)
	}
	signInAgain("abroad-sign-in-again")
	b.WaitURL("the transfer form", on("/transfer"))
	b.WaitText("Transfer")
	// The new sign-in recorded the new place: the next request scores 0.
	mark = d.Mark(t)
	b.Navigate(d.URL + "/transfer")
	if e := d.WaitEvent(t, mark, "GET /transfer passing from abroad", func(e demo.Event) bool {
		return e.Kind == "request" && e.Path == "/transfer" && e.Result == "pass"
	}); e.Score != "0" || e.ClientIP != "192.0.2.100" {
		t.Errorf("after signing in from abroad: %v", e)
	}

	// Another device: the simulator changes the User-Agent.
	choose("device", "another")
	mark = d.Mark(t)
	b.Navigate(d.URL + "/transfer")
	d.WaitEvent(t, mark, "a risk step-up for a new device", riskStepUp("new_device="))
	signInAgain("new-device-sign-in-again")
	b.WaitURL("the transfer form", on("/transfer"))

	// A burst: 60 requests at once, over the limit of 40 in 10 s.
	b.Navigate(d.URL + "/demo/")
	mark = d.Mark(t)
	b.Click("#burst")
	if text := b.WaitText("60 requests:"); !regexp.MustCompile(`\d+× 401`).MatchString(text) {
		t.Errorf("the burst was not stepped up: %q", text)
	}
	d.WaitEvent(t, mark, "a risk step-up for the burst", riskStepUp("frequency_session="))
	b.Screenshot(t, "panel-burst")

	// Report only: a blocklisted address would be denied, and is let through.
	choose("mode", "report_only")
	choose("network", "blocklisted")
	mark = d.Mark(t)
	b.Navigate(d.URL + "/transfer")
	b.WaitURL("the transfer form", on("/transfer"))
	b.WaitText("Transfer")
	if e := d.WaitEvent(t, mark, "a report-only denial", func(e demo.Event) bool {
		return e.Msg == "request would be denied (report only)" && e.Path == "/transfer"
	}); !strings.Contains(e.Reasons, "ip_reputation=95") {
		t.Errorf("report only: %v", e)
	}
	b.Navigate(d.URL + "/demo/")
	b.WaitText("would be denied")
	b.Screenshot(t, "panel-report-only")

	// Enforced: the same address is refused with 403.
	choose("mode", "enforce")
	mark = d.Mark(t)
	b.Navigate(d.URL + "/transfer")
	b.WaitText("Request refused")
	e = d.WaitEvent(t, mark, "a denial", func(e demo.Event) bool {
		return e.Kind == "request" && e.Path == "/transfer" && e.Result == "denied"
	})
	if e.Status != 403 || e.Reason != "risk" || !strings.Contains(e.Reasons, "ip_reputation=95") {
		t.Errorf("deny: %v", e)
	}
	if id := b.TextOf("#request-id"); id != e.ID {
		t.Errorf("the refusal page's reference %q is not the request id %q in the log", id, e.ID)
	}
	b.Screenshot(t, "blocklisted-denied")

	p := d.ReadPanel(t, 0)
	for _, want := range [][]string{
		{"caddy_stepup_requests_total", `outcome="denied"`},
		{"caddy_stepup_challenges_total", `reason="risk_deny"`, `mode="report_only"`},
		{"caddy_stepup_challenges_total", `reason="risk"`, `rule="risk"`},
	} {
		if v := p.Metric(want...); v == "" || v == "0" {
			t.Errorf("the panel's counters have no %v (metrics error %q)", want, p.MetricsError)
		}
	}
	d.StopCleanly(t)
}
