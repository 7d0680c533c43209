package risk

import (
	"net/netip"
	"testing"
	"time"
)

// BenchmarkFrequency is the frequency signal alone on one session and
// address: counted locally (memory) and also shared (state redis; the
// background rounds are not running, so this is the request path only).
func BenchmarkFrequency(b *testing.B) {
	for _, shared := range []bool{false, true} {
		name := "local"
		if shared {
			name = "shared"
		}
		b.Run(name, func(b *testing.B) {
			e, _ := newEngine(b, &Config{Frequency: &FrequencyConfig{Window: 60_000_000_000, Limit: 60000, IPLimit: 60000}})
			if shared {
				e.freq.shared = newShared(fakeReplica{&fakeCounts{n: map[string]map[int64]map[string]int64{}}, "A"}, "s:", time.Minute, 1<<16, nil)
			}
			req := Request{Now: t0, ClientIP: netip.MustParseAddr("192.0.2.7"), SessionKey: 11}
			var out Result
			e.Evaluate(&req, &out)
			if shared {
				e.freq.shared.sync(t0)
				e.Evaluate(&req, &out)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				e.Evaluate(&req, &out)
			}
		})
	}
}
