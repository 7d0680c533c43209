package stepup

// The heap the bounded caches hold when full (see bench_test.go for how
// the benchmarks are run).

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/heaptest"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// BenchmarkCachesWhenFull fills the bearer cache to its bound with
// realistic entries and reports the heap it holds (ns/op is one more
// insertion into the full cache, evicting). The session cache's is in
// stepup/session.
func BenchmarkCachesWhenFull(b *testing.B) {
	b.Run("bearer", func(b *testing.B) {
		h, c := benchHandler(b, func(h *Handler) { h.BearerAudiences = []string{"api"} })
		idp := withBearerIdP(b, h, c, "ES256")
		tokens := make([]string, bearerCacheSize)
		for i := range tokens {
			tokens[i] = idp.token(b, fmt.Sprintf("%08x-7dec-11d0-a765-00a0c91e6bf6", i), "api", time.Hour)
		}
		r := browserRequest(h, "/api", "", "")
		held := heaptest.Held(func() {
			h.bearers = newBearerCache(bearerCacheSize)
			for _, tok := range tokens {
				if _, err := h.verifyBearer(r, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, tok := range tokens {
			if h.bearers.get(bearerKey(tok), c.Now()) == nil {
				b.Fatal("a token is missing from the cache")
			}
		}
		s := &session.Session{Subject: "x", Expires: c.Now().Add(time.Hour)}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			h.bearers.put(bearerKey(fmt.Sprint(i)), s, c.Now())
			i++
		}
		b.ReportMetric(held, "heap-bytes-full")
		b.ReportMetric(held/bearerCacheSize, "bytes/entry")
		runtime.KeepAlive(tokens) // held is what the cache adds, not the tokens
	})
}
