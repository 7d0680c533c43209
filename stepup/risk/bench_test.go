package risk

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/heaptest"
)

// benchRequests are requests with a login, from a mix of places, the
// location caches warm.
func benchRequests(b *testing.B, e *Engine) []Request {
	login := e.Record(&Request{Now: t0, ClientIP: london, Device: 1})
	var reqs []Request
	for i, ip := range []netip.Addr{london, milton, linkoping, tokyo6, sanDiego, private, gb6, sanDiego6} {
		reqs = append(reqs, Request{Now: t0.Add(time.Hour), ClientIP: ip, SessionKey: uint64(i + 1),
			HasLogin: true, Login: login, Device: uint64(i % 2)})
	}
	var out Result
	for i := range reqs {
		e.Evaluate(&reqs[i], &out)
	}
	return reqs
}

// BenchmarkEvaluateAllSignals is one request scored with every signal on:
// three IP lists, City and ASN databases (all four location signals),
// frequency per IP and session, new device.
func BenchmarkEvaluateAllSignals(b *testing.B) {
	e, _ := newEngine(b, allSignals(b))
	benchEvaluate(b, e)
}

// benchEvaluate times e.Evaluate over benchRequests, one request a loop.
func benchEvaluate(b *testing.B, e *Engine) {
	reqs := benchRequests(b, e)
	var out Result
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.Evaluate(&reqs[i&7], &out)
		i++
	}
}

// BenchmarkEvaluateAllSignalsParallel is the same on every core at once.
func BenchmarkEvaluateAllSignalsParallel(b *testing.B) {
	e, _ := newEngine(b, allSignals(b))
	reqs := benchRequests(b, e)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		var out Result
		i := 0
		for pb.Next() {
			e.Evaluate(&reqs[i&7], &out)
			i++
		}
	})
}

// BenchmarkEvaluateOneSignal shows what each signal costs alone.
func BenchmarkEvaluateOneSignal(b *testing.B) {
	all := allSignals(b)
	for _, tt := range []struct {
		name string
		cfg  Config
	}{
		{"ip_reputation", Config{IPReputation: all.IPReputation}},
		{"location", Config{Location: all.Location}},
		{"frequency", Config{Frequency: all.Frequency}},
		{"new_device", Config{NewDevice: all.NewDevice}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			e, _ := newEngine(b, &tt.cfg)
			benchEvaluate(b, e)
		})
	}
}

// BenchmarkFrequencyTrackerMillionIPs feeds one million distinct client
// IPs (and as many sessions) through the frequency signal at its default
// capacity and reports the heap it holds afterwards: it stays at the fixed
// table size however many clients there are. ns/op is one more request
// from a new client while the tables are full.
func BenchmarkFrequencyTrackerMillionIPs(b *testing.B) {
	const clients = 1_000_000
	var f *frequency
	var out Result
	req := Request{Now: t0}
	held := heaptest.Held(func() {
		c := (&Config{Frequency: &FrequencyConfig{}}).withDefaults()
		f = newFrequency(c.Frequency)
		for i := range clients {
			req.ClientIP = netip.AddrFrom4([4]byte{10 + byte(i>>24), byte(i >> 16), byte(i >> 8), byte(i)})
			req.SessionKey = uint64(i + 1)
			out.reset()
			f.evaluate(&req, req.ClientIP, &out)
		}
	})
	b.ReportAllocs()
	i := clients
	for b.Loop() {
		req.ClientIP = netip.AddrFrom4([4]byte{10 + byte(i>>24), byte(i >> 16), byte(i >> 8), byte(i)})
		req.SessionKey = uint64(i + 1)
		out.reset()
		f.evaluate(&req, req.ClientIP, &out)
		i++
	}
	// Reported after the loop: b.Loop's first call resets user metrics.
	b.ReportMetric(held, "heap-bytes@1M")
	b.ReportMetric(float64(f.byIP.bytes()+f.bySession.bytes()), "table-bytes")
	runtime.KeepAlive(f)
}

// BenchmarkIPListLookup looks addresses up in 100,000 random prefixes
// (half IPv4, half IPv6), a large FireHOL-sized list.
func BenchmarkIPListLookup(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	var lines strings.Builder
	for range 100_000 {
		fmt.Fprintln(&lines, randomPrefix(rng))
	}
	ps, bad, err := parseList("bench", strings.NewReader(lines.String()))
	if err != nil || len(bad) != 0 {
		b.Fatal(err, bad)
	}
	set := buildIPSet(ps)
	for _, v4 := range []bool{true, false} {
		name := "ipv6"
		if v4 {
			name = "ipv4"
		}
		b.Run(name, func(b *testing.B) {
			probes := make([]netip.Addr, 1024)
			for i := range probes {
				probes[i] = randomAddr(rng, v4)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				set.contains(probes[i&1023])
				i++
			}
		})
	}
	b.Run("load_100k_lines", func(b *testing.B) {
		text := lines.String()
		b.ReportAllocs()
		for b.Loop() {
			ps, _, _ := parseList("bench", strings.NewReader(text))
			buildIPSet(ps)
		}
	})
}
