package integration

// Assertions signed with nonces made ahead of time (stepup's nonce pool),
// through a real Caddy: the verify module accepts them, and Caddy's own
// metrics show they were pooled, not whole.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/caddyproc"
	"github.com/caddy-stepup/caddy-stepup/internal/rogueop"
	"github.com/caddy-stepup/caddy-stepup/verify"
)

func TestAssertionsFinishedFromPooledNoncesVerify(t *testing.T) {
	op := rogueop.Start(t, rogueop.Options{ClientID: edgeClientID, ClientSecret: edgeSecret})
	backend := startVerifiedBackend(t)
	extra := fmt.Sprintf("assertion {\n\t\t\taudience %s\n\t\t}", assertionAudience)
	c := caddyproc.Start(t, caddyproc.Options{
		Site: fmt.Sprintf("\thandle /metrics {\n\t\tmetrics\n\t}\n\thandle {\n%s\n\t}", siteConfig(op.Issuer(), backend.URL, extra)),
		Env:  []string{"STEPUP_TEST_SECRET=" + edgeSecret},
	})
	backend.protect(newVerifier(t, c, assertionAudience, nil))
	e := &rogueEnv{op: op, caddy: c}
	b := c.Client()
	e.loginAs(t, b, "/admin", "alice", acrMFA)

	// Every request a new target, so each one signs; the first ones find
	// the pool empty (the worker starts with the first signature and fills
	// it at its next tick), the ones after that finish pooled nonces.
	const wantPooled = 40
	deadline := time.Now().Add(20 * time.Second)
	var signed map[string]float64
	for i := 0; ; i++ {
		target := fmt.Sprintf("%s/admin/items/%d", c.URL(), i)
		resp, body := api(t, b, "GET", target)
		var claims verify.Claims
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &claims) != nil || claims.URL != target || claims.Subject != "alice" {
			t.Fatalf("request %d: the verifying upstream answered %d %s", i, resp.StatusCode, truncate(body))
		}
		if i%10 == 9 {
			if signed = counterByLabel(t, c, "caddy_stepup_assertions_signed_total", "nonce"); signed["pooled"] >= wantPooled {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %d requests caddy_stepup_assertions_signed_total is %v, want at least %d pooled", i+1, signed, wantPooled)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if signed["whole"] < 1 {
		t.Fatalf("caddy_stepup_assertions_signed_total %v: the first signature, before the pool was filled, was not whole", signed)
	}
	t.Logf("caddy_stepup_assertions_signed_total: %v", signed)
}
