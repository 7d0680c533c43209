package stepup

import (
	"net/http"
	"testing"
)

// With a risk block, a path no rule covers still passes an Authorization
// header it cannot verify straight to the upstream: it is the upstream's
// credential, whether or not stepup accepts bearer tokens itself.
func TestBearerHeaderOnAnUncoveredPathPassesUntouchedWithRisk(t *testing.T) {
	for _, audiences := range [][]string{nil, {"api"}} {
		list := blocklist(t, "203.0.113.0/24")
		th := newTestHandler(t, deadIssuer(t), func(h *Handler) {
			withRisk(list, 60, nil)(h)
			h.BearerAudiences = audiences
		})
		out := th.serveFrom(t, request("GET", "http://127.0.0.1/public", "Authorization", "Bearer upstream-token", "Accept", "application/json"), "198.51.100.7")
		if out.upstream == nil || out.upstream.Header.Get("Authorization") != "Bearer upstream-token" {
			t.Fatalf("bearer_audience %v: got %d %q, want the request passed with its Authorization header", audiences, out.rec.Code, out.rec.Header().Get("WWW-Authenticate"))
		}
		out = th.serveFrom(t, request("GET", "http://127.0.0.1/admin", "Authorization", "Bearer upstream-token", "Accept", "application/json"), "198.51.100.7")
		if out.upstream != nil || out.rec.Code < http.StatusBadRequest {
			t.Fatalf("bearer_audience %v: a covered path got %d, want it refused (401, or 503 with the IdP down)", audiences, out.rec.Code)
		}
	}
}
