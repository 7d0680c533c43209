package stepup

import (
	"net/http"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestLogThrottleLogsFirstThenOncePerIntervalWithTheCount(t *testing.T) {
	start := time.Unix(1_800_000_000, 0)
	lt := &logThrottle{every: 10 * time.Second}
	type step struct {
		at         time.Duration
		ok         bool
		suppressed int
	}
	for i, s := range []step{
		{0, true, 0},
		{time.Second, false, 0},
		{5 * time.Second, false, 0},
		{9 * time.Second, false, 0},
		{10 * time.Second, true, 3}, // the interval has passed: one line for the three left out
		{11 * time.Second, false, 0},
		{time.Hour, true, 1},
		{time.Hour + time.Millisecond, false, 0},
	} {
		ok, n := lt.allow(start.Add(s.at))
		if ok != s.ok || n != s.suppressed {
			t.Errorf("step %d at +%s: allow = %v, %d; want %v, %d", i, s.at, ok, n, s.ok, s.suppressed)
		}
	}
}

func TestIdPOutageWarnsOncePerIntervalNotPerRequest(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	core, logs := observer.New(zapcore.WarnLevel)
	th.logger = zap.New(core)
	refuse := func() {
		t.Helper()
		out := th.serve(t, request("GET", "http://127.0.0.1/admin", "Accept", "text/html"))
		if out.rec.Code != http.StatusServiceUnavailable || out.upstream != nil {
			t.Fatalf("protected navigation during outage: %d", out.rec.Code)
		}
	}
	for range 5 {
		refuse()
	}
	warnings := logs.FilterMessage("identity provider unavailable; protected request refused").All()
	if len(warnings) != 1 {
		t.Fatalf("5 refusals within the interval wrote %d warnings, want 1", len(warnings))
	}
	th.clock.Add(outageLogEvery)
	refuse()
	warnings = logs.FilterMessage("identity provider unavailable; protected request refused").All()
	if len(warnings) != 2 {
		t.Fatalf("after the interval: %d warnings, want 2", len(warnings))
	}
	if got := warnings[1].ContextMap()["refused_since_last_warning"]; got != int64(4) {
		t.Fatalf("second warning counts %v refusals since the first, want 4", got)
	}
}
