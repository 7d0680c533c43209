package integration

import (
	"net/http"
	"strings"
	"testing"
)

// With a risk block every request is scored, but a path no rule covers
// still belongs to the upstream: an `Authorization: Bearer` header there is
// the upstream's business (an API doing its own bearer auth), so stepup
// must not answer it with 401 invalid_token, whether or not bearer tokens
// are enabled (bearer_audience).

func TestSecurityBearerHeaderOnAPathNoRuleCoversPassesUntouchedWithRisk(t *testing.T) {
	const riskBlock = `risk {
			step_up 50
			deny 100
			frequency {
				limit 1000
			}
		}`
	for _, tc := range []struct {
		name  string
		edit  func(string) string
		token string
	}{
		{"BearerTokensNotEnabled", func(s string) string { return dropLine(s, "bearer_audience") }, "upstream-own-token"},
		{"BearerTokensEnabledAndTheTokenIsForeign", func(s string) string { return s }, "upstream-own-token"},
		{"BearerTokensEnabledAndTheTokenIsAForeignJWT", func(s string) string { return s },
			"eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IiLCJhdWQiOiJ1cHN0cmVhbSJ9.c2lnbmF0dXJl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newRogueEnv(t, rogueSite{requireRules: true, extra: riskBlock, edit: tc.edit})
			up := e.upstream.count()
			resp, body := api(t, e.freshClient(), "GET", e.caddy.URL()+"/public/orders", "Authorization", "Bearer "+tc.token)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("a path no rule covers answered %d %q %s, want it to pass untouched", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), truncate(body))
			}
			got := e.upstream.since(up)
			if len(got) != 1 || got[0].Header.Get("Authorization") != "Bearer "+tc.token {
				t.Fatalf("the upstream did not get the request with its Authorization header: %+v", got)
			}
			// Control: a path a rule covers still judges the header.
			resp, _ = api(t, e.freshClient(), "GET", e.caddy.URL()+"/api/orders", "Authorization", "Bearer "+tc.token)
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Errorf("a covered path answered %d %q, want 401 invalid_token", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

// dropLine removes the lines of a site config whose first word is
// directive.
func dropLine(site, directive string) string {
	var out []string
	for _, l := range strings.Split(site, "\n") {
		if f := strings.Fields(l); len(f) == 0 || f[0] != directive {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
