package stepup

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// BenchmarkMemoryFlood serves 1,000,000 requests from distinct client IPs
// (10.0.0.0/8), every risk signal on, carrying 100,000 distinct valid
// sessions in turn, and logs the live heap every 100,000 requests: the
// curve of issue 19 item 6. It runs the flood once whatever b.N (use
// -benchtime 1x); heapMiB is the heap at the end and growthMiB the growth
// after the first 200,000 requests (warm-up: the bounded tables and
// caches fill). Memory must stay bounded (fixed-size risk tables, a
// 4,096-entry session cache), so growth after warm-up should be ~0.
func BenchmarkMemoryFlood(b *testing.B) {
	const requests, sessions, step, warmup = 1_000_000, 100_000, 100_000, 200_000
	h, c := benchHandler(b, benchRisk(b))
	cookies := make([]string, sessions)
	for i := range cookies {
		s := benchSession(h, c, 0)
		s.Subject = fmt.Sprintf("user-%d", i)
		cookies[i] = sessionCookie(b, h, s)
	}
	passed := 0
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { passed++; return nil })
	base := liveHeap()
	var atWarmup int64
	b.ResetTimer()
	for range b.N {
		for i := range requests {
			ip := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
			r := browserRequest(h, "/admin/users", cookies[i%sessions], "")
			r.RemoteAddr = ip + ":40000"
			repl := caddy.NewReplacer()
			ctx := context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl)
			ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{caddyhttp.ClientIPVarKey: ip})
			c.Add(time.Millisecond)
			_ = h.ServeHTTP(&nopWriter{h: http.Header{}}, r.WithContext(ctx), next)
			if (i+1)%step == 0 {
				heap := liveHeap()
				if i+1 == warmup {
					atWarmup = heap
				}
				b.Logf("after %7d requests (%d distinct IPs, %d distinct sessions): live heap %.1f MiB (+%.1f MiB over the idle handler)",
					i+1, i+1, min(i+1, sessions), float64(heap)/(1<<20), float64(heap-base)/(1<<20))
			}
		}
		// How many went through (the rest were challenged or refused by
		// the risk engine): both paths are part of a flood.
		b.Logf("%d of %d requests reached the upstream", passed, requests)
		b.ReportMetric(float64(liveHeap())/(1<<20), "heapMiB")
		b.ReportMetric(float64(liveHeap()-atWarmup)/(1<<20), "growthMiB")
	}
}
