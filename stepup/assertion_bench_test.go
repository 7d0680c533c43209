package stepup

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-stepup/caddy-stepup/internal/cputime"
)

// BenchmarkAssertion is BenchmarkFastPath/session with a signed assertion
// (issue 17): "off" is the same request without one, the baseline of the
// same run; "hit" reuses a cached assertion on every request; "miss" signs
// one for every request (the clock moves past the reuse window each time)
// with a nonce from the pool, which is filled outside the timer, as the
// worker fills it between requests; "miss_unpooled" signs with the pool
// empty, as requests do when they outrun the worker; "hit_rate=N" signs one
// in every 100/(100-N) requests, the rest reuse it.
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
	run := func(b *testing.B, configure func(*Handler), missEvery int, pooled bool) {
		h, c := benchHandler(b, configure)
		r := browserRequest(h, "/admin/users", sessionCookie(b, h, benchSession(h, c, 0)), "")
		var filling time.Duration // CPU spent filling the pool, not the requests'
		if h.asserter != nil && !pooled {
			h.asserter.nonces = nil // off
		}
		var tick func()
		if missEvery > 0 {
			i := 0
			tick = func() {
				if i++; i%missEvery != 0 {
					return
				}
				c.Add(lifetime / 2)
				if pooled && h.asserter.nonces.low() {
					b.StopTimer()
					cpu := cputime.Process()
					h.asserter.fillNoncePool()
					filling += cputime.Process() - cpu
					b.StartTimer()
				}
			}
		}
		cpu := cputime.Process()
		benchServe(b, h, r, tick)
		// Includes preparing the requests (the same in every variant), so
		// compare differences between variants, not the values themselves.
		b.ReportMetric(float64(cputime.Process()-cpu-filling)/float64(b.N), "cpu-ns/op")
		if a := h.asserter; a != nil && a.signed.Load() > 0 {
			b.ReportMetric(100*float64(a.pooled.Load())/float64(a.signed.Load()), "pooled-%")
		}
	}
	b.Run("off", func(b *testing.B) { run(b, nil, 0, true) })
	b.Run("hit", func(b *testing.B) { run(b, with, 0, true) })
	b.Run("miss", func(b *testing.B) { run(b, with, 1, true) })
	b.Run("miss_unpooled", func(b *testing.B) { run(b, with, 1, false) })
	for _, every := range []int{10, 33, 100} {
		b.Run(fmt.Sprintf("hit_rate=%d", 100-100/every), func(b *testing.B) { run(b, with, every, true) })
	}
}

// BenchmarkAssertionSignature is what a miss spends on signing, on the
// thread's CPU clock (cpu-ns/op; wall ns/op on a shared machine mostly
// counts waiting for a core): "assertion" signs a whole assertion as a
// miss does (claims, JSON, ES256 JWS) with a nonce ready in the pool,
// "assertion_unpooled" as it does when the pool is empty. The others time
// the signature primitive alone over a signing input of an assertion's
// size: "es256_pooled" the part a request pays with a pooled nonce,
// "nonce" making one pooled nonce (in batches, as the worker does),
// "es256_rfc6979" the signature without the pool (deterministic nonce),
// "es256" the standard library's hedged signature, "ed25519" the EdDSA
// signature the issue also allows.
func BenchmarkAssertionSignature(b *testing.B) {
	measure := func(b *testing.B, sign func()) {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		b.ReportAllocs()
		b.ResetTimer()
		cpu := cputime.Thread()
		for range b.N {
			sign()
		}
		if cpu := cputime.Thread() - cpu; cpu > 0 {
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
	// readyPool holds count nonces, made before the clock starts.
	readyPool := func(b *testing.B, count int, now time.Time) *noncePool {
		p := &noncePool{ready: make(chan esNonce, count)}
		for len(p.ready) < count {
			batch, err := makeNonces(min(nonceBatch, count-len(p.ready)), now)
			if err != nil {
				b.Fatal(err)
			}
			for _, n := range batch {
				p.ready <- n
			}
		}
		return p
	}
	input := make([]byte, 640) // header.payload of a typical assertion
	digest := sha256.Sum256(input)
	for _, pooled := range []bool{true, false} {
		name := "assertion"
		if !pooled {
			name = "assertion_unpooled"
		}
		b.Run(name, func(b *testing.B) {
			h, c := benchHandler(b, func(h *Handler) { h.Assertion = &AssertionConfig{Audience: "https://backend.internal"} })
			s := benchSession(h, c, 0)
			k := assertionCacheKey{s: s, rule: "admin", score: -1, method: "GET", host: "app.example.com", path: "/admin/users", tls: true}
			now := c.Now()
			// Before the first signature, which would start the worker.
			h.asserter.refresher.start.Do(func() {}) // no worker: nothing fills the pool
			h.asserter.nonces = nil                  // off
			if pooled {
				h.asserter.nonces = readyPool(b, b.N+1, now) // and the first signature's
			}
			if _, _, err := h.asserter.sign(context.Background(), &k, s, now); err != nil {
				b.Fatal(err)
			}
			before := h.asserter.pooled.Load()
			measure(b, func() {
				if _, _, err := h.asserter.sign(context.Background(), &k, s, now); err != nil {
					b.Fatal(err)
				}
			})
			if got := h.asserter.pooled.Load() - before; (got == uint64(b.N)) != pooled {
				b.Fatalf("%d of %d signatures pooled", got, b.N)
			}
		})
	}
	es, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("es256_pooled", func(b *testing.B) {
		key := testSigningKey(b)
		now := time.Now()
		pool := readyPool(b, b.N, now)
		measure(b, func() {
			n, _ := pool.take(now)
			if _, ok := signES256(key.d, n, digest[:]); !ok {
				b.Fatal("no signature")
			}
		})
	})
	b.Run("nonce", func(b *testing.B) {
		made := 0
		measure(b, func() {
			// One op per nonce; a batch's inversion falls on its first.
			if made%nonceBatch == 0 {
				if _, err := makeNonces(min(nonceBatch, b.N-made), time.Now()); err != nil {
					b.Fatal(err)
				}
			}
			made++
		})
	})
	b.Run("es256", func(b *testing.B) {
		measure(b, func() {
			if _, _, err := ecdsa.Sign(rand.Reader, es, digest[:]); err != nil {
				b.Fatal(err)
			}
		})
	})
	b.Run("es256_rfc6979", func(b *testing.B) {
		measure(b, func() {
			if _, err := es.Sign(nil, digest[:], crypto.SHA256); err != nil {
				b.Fatal(err)
			}
		})
	})
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("ed25519", func(b *testing.B) {
		measure(b, func() { ed25519.Sign(ed, input) })
	})
}
