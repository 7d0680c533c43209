package integration

import (
	"net/http"
	"strings"
	"testing"
)

// Every login attempt sets a flow cookie that travels to the callback; a
// browser that starts attempt after attempt (tabs, retries, abandoned
// logins) must not pile them up until the callback's headers are too large
// to be served (431). At most four are kept: a new attempt replaces the
// oldest, whose callback is then refused like any unknown attempt, and the
// latest ones still complete.

func TestSecurityFlowCookiesStayBoundedAndTheOldestIsEvicted(t *testing.T) {
	const attempts, kept = 12, 4
	e := newRogueEnv(t, rogueSite{})
	c := e.freshClient()
	var callbacks []string
	for range attempts {
		// A long return path makes each flow cookie large, as in the report.
		cb, _ := e.startFlow(t, c, "/settings?"+strings.Repeat("q=a-long-return-path&", 40))
		callbacks = append(callbacks, cb.String())
	}
	flows := 0
	size := 0
	for _, ck := range c.Jar.Cookies(mustParse(t, e.caddy.URL()+callbackPath)) {
		if strings.HasPrefix(ck.Name, flowCookiePrefix) {
			flows++
			size += len(ck.Name) + len(ck.Value) + 3
		}
	}
	if flows > kept {
		t.Fatalf("after %d login attempts the browser sends %d flow cookies (%d bytes) to the callback, want at most %d", attempts, flows, size, kept)
	}
	t.Logf("%d flow cookies, %d bytes, after %d attempts", flows, size, attempts)

	// The latest attempt completes; the oldest was evicted and is refused.
	if tr, _ := walk(t, c, callbacks[attempts-1], nil); tr.last().status != http.StatusOK || !tr.minted() {
		t.Fatalf("the latest attempt did not complete: %d %s", tr.last().status, truncate(tr.last().body))
	}
	mark := logMark(e.caddy)
	if tr, _ := walk(t, c, callbacks[0], nil); tr.last().status != http.StatusBadRequest {
		t.Fatalf("the oldest attempt's callback answered %d, want 400", tr.last().status)
	}
	waitLog(t, e.caddy, mark, "step-up refused", "state")
}
