package integration

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// An IdP that dies after the plugin discovered it: a browser that needs a
// login gets the documented 503 with Retry-After, not a redirect to the
// dead IdP, and the outage is logged (issue 13, item 2).
func TestIdPDeadAfterDiscoveryGets503NotARedirect(t *testing.T) {
	e := newRogueEnv(t, rogueSite{extra: "health_check_interval 1s"})
	e.login(t, e.caddy.Client(), "/") // discovery, token and JWKS all answered
	e.op.Stop()
	// A second with no successful call to the IdP: the next login checks it.
	time.Sleep(1100 * time.Millisecond)

	mark := logMark(e.caddy)
	for i := range 3 {
		u, _ := url.Parse(e.caddy.URL() + "/admin")
		resp, err := e.caddy.Client().Do(navigation(u))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("login %d with the IdP dead: %d Location %q Retry-After %q, want 503 with Retry-After",
				i+1, resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Retry-After"))
		}
	}
	entry := waitLogEntry(t, e.caddy, mark, logQuery{msg: "identity provider unavailable; protected request refused"})
	if !strings.Contains(entry.str("error"), "127.0.0.1") {
		t.Errorf("the outage warning does not say what failed: %v", entry)
	}
}
