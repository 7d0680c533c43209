package stepup

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig"
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
	respond "ok"
}
`

func explainFor(t *testing.T, q explainQuery) string {
	t.Helper()
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(explainCaddyfile), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := explain(&out, cfg, q); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestExplainNamesTheRuleAndWhatItDemands(t *testing.T) {
	got := explainFor(t, explainQuery{Method: "GET", URL: "https://app.example.com/admin/users", IP: "203.0.113.9"})
	for _, want := range []string{"rule: admin", "acr urn:mfa", "max_age 10m0s", `acr_values="urn:mfa", max_age=600`} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}
}

func TestExplainJudgesADescribedSession(t *testing.T) {
	stale := explainFor(t, explainQuery{Method: "GET", URL: "https://app.example.com/admin", IP: "203.0.113.9", ACR: "urn:mfa", AuthAge: 20 * time.Minute})
	if !strings.Contains(stale, "step-up (max_age)") {
		t.Errorf("a 20 minute old login should need a step-up:\n%s", stale)
	}
	fresh := explainFor(t, explainQuery{Method: "GET", URL: "https://app.example.com/admin", IP: "203.0.113.9", ACR: "urn:mfa", AuthAge: time.Minute})
	if !strings.Contains(fresh, "passes") {
		t.Errorf("a fresh strong login should pass:\n%s", fresh)
	}
}

func TestExplainShowsReportOnlyRulesAndUnmatchedRequests(t *testing.T) {
	if got := explainFor(t, explainQuery{Method: "POST", URL: "https://app.example.com/transfer", IP: "203.0.113.9"}); !strings.Contains(got, "rule: transfer (report only)") {
		t.Errorf("report-only rule not shown:\n%s", got)
	}
	if got := explainFor(t, explainQuery{Method: "GET", URL: "https://app.example.com/", IP: "203.0.113.9"}); !strings.Contains(got, "passes untouched") {
		t.Errorf("unmatched request:\n%s", got)
	}
	if got := explainFor(t, explainQuery{Method: "GET", URL: "https://other.example.com/admin", IP: "203.0.113.9"}); !strings.Contains(got, "does not reach this handler") {
		t.Errorf("another host:\n%s", got)
	}
}
