package stepup

import (
	"net/http"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// The "step-up required" audit event says why the session fell short: the
// acr, amr and auth_time it had, and the risk score with each signal's
// points, so a reader of the log needs nothing else.
func TestStepUpRequiredEventCarriesTheSessionAndTheRiskScore(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), withRisk(blocklist(t, "203.0.113.0/24"), 60, nil))
	core, logs := observer.New(zapcore.InfoLevel)
	th.logger = zap.New(core)
	s := th.session("urn:pwd", "pwd")
	out := th.serveFrom(t, request("GET", "http://127.0.0.1/admin", "Cookie", th.cookieFor(t, s), "Accept", "application/json"), "203.0.113.7")
	if out.rec.Code != http.StatusUnauthorized {
		t.Fatalf("weak session on /admin: %d", out.rec.Code)
	}
	events := logs.FilterMessage("step-up required").All()
	if len(events) != 1 {
		t.Fatalf("%d step-up required events, want 1", len(events))
	}
	got := events[0].ContextMap()
	want := map[string]any{
		"rule": "admin", "reason": "acr", "acr": "urn:pwd", "amr": "pwd",
		"auth_time": s.AuthTime.Unix(), "risk_score": int64(60), "risk_reasons": "ip_reputation=60",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
}

// Without a session the event has no session fields, rather than empty ones.
func TestStepUpRequiredEventWithoutASessionHasNoSessionFields(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	core, logs := observer.New(zapcore.InfoLevel)
	th.logger = zap.New(core)
	th.serve(t, request("GET", "http://127.0.0.1/admin", "Accept", "application/json"))
	events := logs.FilterMessage("step-up required").All()
	if len(events) != 1 {
		t.Fatalf("%d step-up required events, want 1", len(events))
	}
	for _, k := range []string{"acr", "amr", "auth_time", "risk_score"} {
		if v, ok := events[0].ContextMap()[k]; ok {
			t.Errorf("event without a session has %s = %v", k, v)
		}
	}
}
