package integration

import (
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/caddyproc"
)

// refusal is what a refused login must look like.
type refusal struct {
	status int
	reason string // "reason" of the "step-up refused" log entry
	detail string // substring of its "error" field ("" to skip)
}

// assertRefusedLogin checks that the trip ended at the callback with the
// refusal's status, that the log names the reason, that no session cookie
// was set on the way, that the upstream saw nothing since upCount, and
// that the browser holds no more privilege than before: its session cookie
// (if any) is unchanged and /admin still challenges it.
func (e *rogueEnv) assertRefusedLogin(t *testing.T, c *http.Client, tr trip, mark, upCount int, before string, want refusal) {
	t.Helper()
	assertRefusedAt(t, e.caddy, e.upstream, c, tr, mark, upCount, before, want)
}

func assertRefusedAt(t *testing.T, cd *caddyproc.Caddy, up *recordingUpstream, c *http.Client, tr trip, mark, upCount int, before string, want refusal) {
	t.Helper()
	last := tr.last()
	if last.url.Path != callbackPath || last.status != want.status {
		t.Errorf("attack ended at %s with %d, want the callback refusing with %d: %s", last.url.Path, last.status, want.status, truncate(last.body))
	}
	l := waitLog(t, cd, mark, "step-up refused", want.reason)
	if want.detail != "" && !strings.Contains(l.str("error"), want.detail) {
		t.Errorf("refused for reason %q but the detail is %q, want it to mention %q", want.reason, l.str("error"), want.detail)
	}
	if st, _ := l["status"].(float64); int(st) != want.status {
		t.Errorf("log entry status %v, want %d", l["status"], want.status)
	}
	if tr.minted() {
		t.Error("a session cookie was set during the attack")
	}
	if got := jarSession(c, cd.URL()); got != before {
		t.Errorf("the browser's session cookie changed during the attack")
	}
	if n := up.count(); n != upCount {
		t.Errorf("the upstream was reached %d times during the attack: %+v", n-upCount, up.since(upCount))
	}
	if resp, _ := api(t, c, "GET", cd.URL()+"/admin"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("after the attack /admin answered %d, want 401", resp.StatusCode)
	}
	if n := up.count(); n != upCount {
		t.Errorf("the upstream was reached after the attack: %+v", up.since(upCount))
	}
}

// assertAlive checks Caddy still serves and never panicked.
func assertAlive(t *testing.T, e *rogueEnv) {
	t.Helper()
	resp, _ := api(t, e.freshClient(), "GET", e.caddy.URL()+"/")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("Caddy answered %d to a plain request after the attacks", resp.StatusCode)
	}
	if logs := e.caddy.Logs(); strings.Contains(logs, "panic") {
		t.Errorf("Caddy's log mentions a panic:\n%s", tail(logs, 30))
	}
}
