package stepup

import (
	"fmt"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// BenchmarkAssertion is BenchmarkFastPath/session with a signed assertion
// (issue 17): "off" is the same request without one, the baseline of the
// same run; "hit" reuses a cached assertion on every request; "miss" signs
// one for every request (the clock moves past the reuse window each time);
// "hit_rate=N" signs one in every 100/(100-N) requests, the rest reuse it.
// Which hit rate is realistic, and the cost there, is for
// BenchmarkAssertionWorkload to say. cpu-ns/op is process CPU time per request,
// which on a shared machine varies far less than ns/op.
func BenchmarkAssertion(b *testing.B) {
	// A short window, so "miss" moves the clock little; whole seconds, so
	// that moving the clock by half of it keeps exp (whole seconds) and the
	// reuse window in step.
	const lifetime = 2 * time.Second
	with := func(h *Handler) {
		h.Assertion = &AssertionConfig{Audience: "https://backend.internal", Lifetime: caddy.Duration(lifetime)}
	}
	run := func(b *testing.B, configure func(*Handler), missEvery int) {
		h, c := benchHandler(b, configure)
		r := browserRequest(h, "/admin/users", sessionCookie(b, h, benchSession(h, c, 0)), "")
		var tick func()
		if missEvery > 0 {
			i := 0
			tick = func() {
				if i++; i%missEvery == 0 {
					c.add(lifetime / 2)
				}
			}
		}
		cpu := processCPU()
		benchServe(b, h, r, tick)
		// Includes preparing the requests (the same in every variant), so
		// compare differences between variants, not the values themselves.
		b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
	}
	b.Run("off", func(b *testing.B) { run(b, nil, 0) })
	b.Run("hit", func(b *testing.B) { run(b, with, 0) })
	b.Run("miss", func(b *testing.B) { run(b, with, 1) })
	for _, every := range []int{10, 33, 100} {
		b.Run(fmt.Sprintf("hit_rate=%d", 100-100/every), func(b *testing.B) { run(b, with, every) })
	}
}
