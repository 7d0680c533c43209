package integration

import (
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-stepup/caddy-stepup/internal/rogueop"
)

// Identity headers configured with upstream_header (X-User, X-Acr, X-Rule
// in siteConfig) reach the upstream only as stepup set them, whatever the
// client sent and however it spelled the names. CGI-style upstreams
// (php_fastcgi among them) turn X_User and X-User alike into HTTP_X_USER,
// so an underscore spelling is the same header to them.

func TestSecurityIdentityHeadersFromClientsNeverReachTheUpstream(t *testing.T) {
	e := newRogueEnv(t, rogueSite{})
	cookie := "Cookie: " + sessionCookieName + "=" + sessionValue(t, e, e.freshClient())
	ours := map[string]string{"x-user": "alice", "x-acr": acrPwd, "x-rule": "default"}
	bearer := "Authorization: Bearer " + e.op.SignRS256AccessToken(rogueop.Claims{
		"iss": e.op.Issuer(), "sub": "alice", "aud": []string{apiAudience},
		"iat": nowUnix(), "exp": nowUnix() + 300, "acr": acrMFA,
	})

	for _, tc := range []struct {
		name    string
		target  string
		headers []string
		want    map[string]string // identity headers the upstream must see, by lower-case name
	}{
		{"ForgedHeadersOnAPassingRequestAreReplaced", "/", []string{cookie, "X-User: admin", "X-Acr: " + acrMFA, "X-Rule: admin"}, ours},
		{"ForgedHeadersInOtherLetterCasesAreReplaced", "/", []string{cookie, "x-user: admin", "X-USER: root", "x-ACR: " + acrMFA}, ours},
		{"RepeatedForgedHeadersAreReplaced", "/", []string{cookie, "X-User: admin", "X-User: root", "X-Rule: admin", "X-Rule: api"}, ours},
		// Caddy itself drops underscore and dot spellings by default
		// (servers' expected_underscore_headers / expected_dot_headers).
		{"ForgedHeadersSpelledWithUnderscoresAreRemoved", "/", []string{cookie, "X_User: admin", "x_acr: " + acrMFA, "X_RULE: admin"}, ours},
		{"ForgedHeadersSpelledWithDotsAreRemoved", "/", []string{cookie, "X.User: admin", "x.acr: " + acrMFA}, ours},
		{"ForgedHeadersBesideABearerTokenAreReplaced", "/api/orders", []string{bearer, "X-User: admin", "X_User: admin"},
			map[string]string{"x-user": "alice", "x-acr": acrMFA, "x-rule": "api"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := e.upstream.count()
			resp, body := rawGET(t, e.caddy, tc.target, tc.headers...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("the request did not pass: %d %s", resp.StatusCode, truncate(body))
			}
			got := e.upstream.since(up)
			if len(got) != 1 {
				t.Fatalf("the upstream saw %d requests, want 1", len(got))
			}
			assertIdentityHeaders(t, got[0].Header, tc.want)
		})
	}

	t.Run("ForgedHeadersOnAChallengedRequestGoNowhere", func(t *testing.T) {
		mark, up := logMark(e.caddy), e.upstream.count()
		resp, _ := rawGET(t, e.caddy, "/probe/forged", "X-User: alice", "X-Acr: "+acrMFA)
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("no session but forged identity headers: %d, want 401", resp.StatusCode)
		}
		if e.upstream.count() != up {
			t.Error("the upstream was reached")
		}
		waitLogEntry(t, e.caddy, mark, logQuery{msg: "step-up required", reason: "no_session", path: "/probe/forged"})
	})

	open := newRogueEnv(t, rogueSite{op: e.op, requireRules: true})
	t.Run("ForgedHeadersOnARouteNoRuleCoversAreRemoved", func(t *testing.T) {
		up := open.upstream.count()
		resp, body := rawGET(t, open.caddy, "/public", "X-User: admin", "x-acr: "+acrMFA, "X_User: admin", "X-Rule: admin")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("an uncovered route: %d %s", resp.StatusCode, truncate(body))
		}
		got := open.upstream.since(up)
		if len(got) != 1 {
			t.Fatalf("the upstream saw %d requests, want 1", len(got))
		}
		assertIdentityHeaders(t, got[0].Header, nil)
	})
}

// assertIdentityHeaders checks that every header whose name, case-folded
// with '_' and '.' read as '-' (as CGI and PHP fold them), is an identity
// header has exactly the value want gives it (none when want has no
// entry), under its canonical name only.
// Dots count as '-' too: PHP folds them into its $_SERVER names.
func assertIdentityHeaders(t *testing.T, h http.Header, want map[string]string) {
	t.Helper()
	identity := map[string]bool{"x-user": true, "x-acr": true, "x-rule": true}
	seen := map[string]bool{}
	for name, values := range h {
		norm := strings.NewReplacer("_", "-", ".", "-").Replace(strings.ToLower(name))
		if !identity[norm] {
			continue
		}
		v, ok := want[norm]
		switch {
		case !ok:
			t.Errorf("the upstream received %s: %q, which the client sent", name, values)
		case name != http.CanonicalHeaderKey(norm):
			t.Errorf("the upstream received %s: %q beside stepup's %s (a CGI upstream reads both as HTTP_%s)",
				name, values, http.CanonicalHeaderKey(norm), strings.ToUpper(strings.ReplaceAll(norm, "-", "_")))
		case len(values) != 1 || values[0] != v:
			t.Errorf("the upstream received %s: %q, want only %q", name, values, v)
		default:
			seen[norm] = true
		}
	}
	for norm := range want {
		if !seen[norm] {
			t.Errorf("the upstream did not receive stepup's %s", http.CanonicalHeaderKey(norm))
		}
	}
}
