package stepup

import (
	"cmp"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"net/http"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-stepup/caddy-stepup/internal/cputime"
)

// assertionEvent is one request of a workload: who sends it, what, when.
type assertionEvent struct {
	at      time.Duration // from the start of the trace
	session int
	path    string
}

// Workload model of BenchmarkAssertionWorkload (BENCHMARKS.md, "Signed
// assertions"), over 30 simulated minutes with the default 30s lifetime:
//
//   - api: 8 sessions of API clients, each polling 3 targets of its own,
//     every 2s, 5s, 10s, 30s or 60s (one interval per client, the five in
//     turn; ±10% jitter): dashboards, sync jobs, health-style polling.
//   - browser: 8 sessions of people navigating among 20 pages at human
//     pace: think time exponential with a 30s mean (at least 2s); each page
//     view is the page, the signed-in user's /admin/api/me and the page's
//     own data call, at the same instant.
//
// "mixed" is both; "api-fast" is api with the 2s, 5s and 10s intervals
// only: every client comes back within half the lifetime. Targets are per session (the cache key is session, rule
// and target), so two clients never share an entry.
const assertionTraceLength = 30 * time.Minute

func assertionTrace(model string) []assertionEvent {
	rng := rand.New(rand.NewPCG(17, 17))
	var ev []assertionEvent
	session := 0
	if model == "api" || model == "mixed" || model == "api-fast" {
		intervals := []time.Duration{2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute}
		if model == "api-fast" {
			intervals = intervals[:3]
		}
		for c := range 8 {
			every := intervals[c%len(intervals)]
			for target := range 3 {
				at := time.Duration(rng.Int64N(int64(every)))
				for at < assertionTraceLength {
					ev = append(ev, assertionEvent{at: at, session: session, path: fmt.Sprintf("/admin/api/feed%d", target)})
					at += every + time.Duration((rng.Float64()-0.5)*0.2*float64(every))
				}
			}
			session++
		}
	}
	if model == "browser" || model == "mixed" {
		for range 8 {
			at := time.Duration(rng.Int64N(int64(30 * time.Second)))
			for at < assertionTraceLength {
				page := rng.IntN(20)
				for _, p := range []string{fmt.Sprintf("/admin/pages/%d", page), "/admin/api/me", fmt.Sprintf("/admin/api/pages/%d", page)} {
					ev = append(ev, assertionEvent{at: at, session: session, path: p})
				}
				at += max(2*time.Second, time.Duration(rng.ExpFloat64()*float64(30*time.Second)))
			}
			session++
		}
	}
	slices.SortStableFunc(ev, func(a, b assertionEvent) int { return cmp.Compare(a.at, b.at) })
	return ev
}

// BenchmarkAssertionWorkload replays a workload (above) through the
// handler with and without an assertion block, the clock set to each
// request's time; -count N interleaves "off" and "on" (and, for the API
// models, "control": see controlEvery). Metrics: serve-ns/op is the time a
// request spends in ServeHTTP (what it waits), serve-cpu-ns/op the CPU it
// uses there (Linux: its thread's CPU time, so neither waiting for a core
// on a shared machine nor background work; includes the clock reads, the
// same in every mode), cpu-ns/op the process CPU per request including
// background work, hit-% the requests that did not wait for a signature,
// signs/op every signature made (inline and background) per request,
// pooled/op those made with a nonce from the pool, nonces/op the nonces
// made. The background work (re-signings, filling the nonce pool) is done
// between two requests on the benchmark's thread (backgroundWorkHere), as
// the worker would in the seconds between a client's requests.
func BenchmarkAssertionWorkload(b *testing.B) {
	for _, model := range []string{"api-fast", "api", "browser", "mixed"} {
		trace := assertionTrace(model)
		modes := []string{"off", "on"}
		if model == "api-fast" || model == "api" {
			modes = append(modes, "control")
		}
		for _, mode := range modes {
			b.Run(fmt.Sprintf("model=%s/assertion=%s", model, mode), func(b *testing.B) { benchAssertionTrace(b, trace, mode) })
		}
	}
}

// controlEvery is how often, in requests, the "control" baseline makes an
// ES256 signature between two requests, as "on" does its background work
// there (backgroundWorkHere): a third of the requests, about the signs/op
// of api-fast (0.33) and api (0.37). "on" against "control" is then what
// the assertion adds besides the caches that work between two requests
// leaves cold, which "on" against "off" also counts.
const controlEvery = 3

// benchAssertionTrace replays trace with mode "off" (no assertion), "on",
// or "control" ("off" with background signatures, above).
func benchAssertionTrace(b *testing.B, trace []assertionEvent, mode string) {
	var configure func(*Handler)
	if mode == "on" {
		configure = func(h *Handler) { h.Assertion = &AssertionConfig{Audience: "https://backend.internal"} }
	}
	var control func() error
	if mode == "control" {
		key, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		control = func() error {
			digest := sha256.Sum256([]byte("control"))
			_, err := key.Sign(nil, digest[:], crypto.SHA256)
			return err
		}
	}
	h, c := benchHandler(b, configure)
	sessions := 0
	for _, e := range trace {
		sessions = max(sessions, e.session+1)
	}
	cookies := make([]string, sessions)
	for i := range cookies {
		cookies[i] = sessionCookie(b, h, benchSession(h, c, 0))
	}
	start := c.Now()
	const batch = 512
	reqs := make([]*http.Request, batch)
	at := make([]time.Time, batch)
	prepare := func(from int) {
		for j := range reqs {
			i := from + j
			e := trace[i%len(trace)]
			// Each pass over the trace starts a lifetime after the last
			// one ended: its clients start afresh.
			at[j] = start.Add(time.Duration(i/len(trace))*(assertionTraceLength+time.Minute) + e.at)
			proto := browserRequest(h, e.path, cookies[e.session], "")
			repl := caddy.NewReplacer()
			repl.Map(func(string) (any, bool) { return nil, false })
			ctx := context.WithValue(proto.Context(), caddy.ReplacerCtxKey, repl)
			ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{caddyhttp.ClientIPVarKey: benchIP})
			reqs[j] = proto.WithContext(ctx)
		}
	}
	passed := 0
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { passed++; return nil })
	w := &nopWriter{h: http.Header{}}
	var served, servedCPU time.Duration
	// The request's own CPU is measured on its thread (cputime.Thread), which
	// background re-signing never runs on.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cputime.Process()
	for i := 0; i < b.N; i++ {
		if i%batch == 0 {
			b.StopTimer()
			cpu0 := cputime.Process()
			prepare(i)
			cpu -= cputime.Process() - cpu0 // preparing is not the handler's work
			b.StartTimer()
		}
		c.Set(at[i%batch])
		c0, t0 := cputime.Thread(), time.Now()
		if err := h.ServeHTTP(w, reqs[i%batch], next); err != nil {
			b.Fatal(err)
		}
		served += time.Since(t0)
		servedCPU += cputime.Thread() - c0
		if h.asserter != nil {
			h.asserter.backgroundWorkHere()
		} else if control != nil && i%controlEvery == 0 {
			if err := control(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	cpu = cputime.Process() - cpu
	if passed != b.N {
		b.Fatalf("%d of %d requests reached next", passed, b.N)
	}
	b.ReportMetric(float64(served.Nanoseconds())/float64(b.N), "serve-ns/op")
	if servedCPU > 0 {
		b.ReportMetric(float64(servedCPU.Nanoseconds())/float64(b.N), "serve-cpu-ns/op")
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	if a := h.asserter; a != nil {
		signed, bg := a.signed.Load(), a.refreshed.Load()
		b.ReportMetric(100*(1-float64(signed-bg)/float64(b.N)), "hit-%")
		b.ReportMetric(float64(signed)/float64(b.N), "signs/op")
		b.ReportMetric(float64(a.pooled.Load())/float64(b.N), "pooled/op")
		b.ReportMetric(float64(a.nonces.made.Load())/float64(b.N), "nonces/op")
	}
}
