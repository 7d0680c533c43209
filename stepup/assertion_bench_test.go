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
					c.Add(lifetime / 2)
				}
			}
		}
		cpu := cputime.Process()
		benchServe(b, h, r, tick)
		// Includes preparing the requests (the same in every variant), so
		// compare differences between variants, not the values themselves.
		b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/op")
	}
	b.Run("off", func(b *testing.B) { run(b, nil, 0) })
	b.Run("hit", func(b *testing.B) { run(b, with, 0) })
	b.Run("miss", func(b *testing.B) { run(b, with, 1) })
	for _, every := range []int{10, 33, 100} {
		b.Run(fmt.Sprintf("hit_rate=%d", 100-100/every), func(b *testing.B) { run(b, with, every) })
	}
}

// BenchmarkAssertionSignature is what a miss spends on signing, on the
// thread's CPU clock (cpu-ns/op; wall ns/op on a shared machine mostly
// counts waiting for a core): "assertion" signs a whole assertion as a
// miss does (claims, JSON, ES256 JWS); the others time the signature
// primitive alone over a signing input of an assertion's size: "es256" as
// the handler signs (hedged nonce, crypto/rand), "es256_rfc6979" with a
// deterministic nonce (RFC 6979), "ed25519" the EdDSA signature the issue
// also allows.
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
	input := make([]byte, 640) // header.payload of a typical assertion
	digest := sha256.Sum256(input)
	b.Run("assertion", func(b *testing.B) {
		h, c := benchHandler(b, func(h *Handler) { h.Assertion = &AssertionConfig{Audience: "https://backend.internal"} })
		s := benchSession(h, c, 0)
		k := assertionCacheKey{s: s, rule: "admin", score: -1, method: "GET", host: "app.example.com", path: "/admin/users", tls: true}
		now := c.Now()
		if _, _, err := h.asserter.sign(context.Background(), &k, s, now); err != nil {
			b.Fatal(err)
		}
		measure(b, func() {
			if _, _, err := h.asserter.sign(context.Background(), &k, s, now); err != nil {
				b.Fatal(err)
			}
		})
	})
	es, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
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
