package session

// Benchmarks of the session cookie on the request path (issue 7). They
// measure; they never assert on time:
//
//	go test -run '^$' -bench . -benchmem -count 6 ./stepup/session/ | benchstat -

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/heaptest"
	"github.com/caddy-stepup/caddy-stepup/stepup/internal/testclock"
	"github.com/caddy-stepup/caddy-stepup/stepup/risk"
)

// benchSession is a realistic session (the cookie size test's): a UUID
// subject, three methods, a risk baseline.
func benchSession(c *testclock.Clock, device uint64) *Session {
	now := c.Now()
	return &Session{
		Subject: "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", ACR: "urn:otp",
		AMR: []string{"pwd", "otp", "hwk"}, AuthTime: now, Issued: now, Expires: now.Add(30 * 24 * time.Hour),
		LoginRule: "admin",
		HasLogin:  true,
		Login:     risk.Recorded{Country: [2]byte{'G', 'B'}, ASN: 4_200_000_000, Device: device, Lat: 51.5142, Lon: -0.0931, Radius: 10, At: now.Unix()},
	}
}

// benchRequest is what a logged-in browser sends over HTTPS: our session
// cookie among a site's own.
func benchRequest(st *Store, sealed string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "https://app.example/admin", nil)
	r.TLS = &tls.ConnectionState{}
	r.Header.Set("Cookie", "theme=dark; _ga=GA1.1.1234567890.1800000000; "+st.cookies.Prefixed.Session+"="+sealed)
	return r
}

func benchSeal(b *testing.B, st *Store, s *Session) string {
	b.Helper()
	sealed, err := st.Seal(context.Background(), s)
	if err != nil {
		b.Fatal(err)
	}
	return sealed
}

// BenchmarkSessionCookieOpen finds a realistic session cookie among the
// site's and returns its session: opened (base64, AES-256-GCM, decoding),
// and from the session cache as on a browser's later requests.
func BenchmarkSessionCookieOpen(b *testing.B) {
	for _, cached := range []bool{false, true} {
		name := "opened"
		if cached {
			name = "cached"
		}
		b.Run(name, func(b *testing.B) {
			c := testclock.New(time.Unix(1_800_000_000, 0))
			var opts []Option
			if !cached {
				opts = append(opts, WithCacheSize(0))
			}
			st := benchStore(b, c, opts...)
			s := benchSession(c, ^uint64(0))
			r := benchRequest(st, benchSeal(b, st, s))
			b.ReportAllocs()
			for b.Loop() {
				if got, err := st.Read(r); err != nil || got == nil || got.Subject != s.Subject {
					b.Fatal("session did not open")
				}
			}
		})
	}
}

// BenchmarkCachesWhenFull fills the session cache to its bound with
// realistic entries and reports the heap it holds (ns/op is one more
// insertion into the full cache, evicting). The bearer cache's is in
// stepup.
func BenchmarkCachesWhenFull(b *testing.B) {
	b.Run("session", func(b *testing.B) {
		c := testclock.New(time.Unix(1_800_000_000, 0))
		st := benchStore(b, c, WithCacheSize(0)) // filled by hand below
		now := c.Now()
		keys, err := st.sealer.ring.keys(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		cookies := make([]string, sessionCacheSize+1024)
		for i := range cookies {
			s := benchSession(c, uint64(i))
			s.Subject = fmt.Sprintf("%08x-7dec-11d0-a765-00a0c91e6bf6", i)
			s.Login.ASN = 64512
			cookies[i] = benchSeal(b, st, s)
		}
		held := heaptest.Held(func() {
			st.cache = newSessionCache(sessionCacheSize)
			for _, cookie := range cookies[:sessionCacheSize] {
				if s, err := st.Read(benchRequest(st, cookie)); err != nil || s == nil {
					b.Fatal("session did not open")
				}
			}
		})
		for _, cookie := range cookies[:sessionCacheSize] {
			if st.cache.get(st.sealer.aad, cookie, keys) == nil {
				b.Fatal("a session is missing from the cache")
			}
		}
		s := benchSession(c, 0)
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			st.cache.put(st.sealer.aad, cookies[sessionCacheSize+i%1024], keys, s, now)
			i++
		}
		b.ReportMetric(held, "heap-bytes-full")
		b.ReportMetric(held/sessionCacheSize, "bytes/entry")
	})
}

// benchStore is a store as a production config has it: HTTPS cookie
// names, the handler's binding, a fresh storage.
func benchStore(b *testing.B, c *testclock.Clock, opts ...Option) *Store {
	ring := NewKeyring(&certmagic.FileStorage{Path: b.TempDir()}, 24*time.Hour, c.Now)
	cookies := NewCookies(Names{Session: "stepup", FlowPrefix: "stepup_flow_", FlowNext: "stepup_flow_next", Device: "stepup_device"}, false)
	return NewStore(NewSealer(ring, "https://idp.example/bench\x00edge", flowPurpose), cookies, append([]Option{WithClock(c.Now)}, opts...)...)
}
