package stepup

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-stepup/caddy-stepup/internal/cputime"
	"github.com/caddy-stepup/caddy-stepup/internal/freeport"
)

// BenchmarkConfigLoad is a config reload (caddy.Load, as the admin API's
// /load and an ingress controller do) of N sites, each a host route: with
// a stepup handler of its own (distinct rules, one issuer) in front of a
// static response, and "plain", the same config without stepup. Plain and
// stepup alternate within each -count round, so their ratio holds on a
// loaded machine. heapB/site is the live heap of the running config per
// site (heap with the config loaded minus heap after caddy.Stop): the
// difference between stepup and plain is stepup's memory per handler.
// Targets (issue 19): stepup adds ≤ 20 % to reload time and ≤ 50 KiB per
// handler at N = 1,000.
func BenchmarkConfigLoad(b *testing.B) {
	addr := freeport.Addr()
	storage := b.TempDir()
	for _, n := range []int{1, 100, 1000, 5000} {
		for _, kind := range []string{"plain", "stepup"} {
			b.Run(fmt.Sprintf("sites=%d/%s", n, kind), func(b *testing.B) {
				cfg := []byte(loadBenchConfig(n, kind == "stepup", addr, storage))
				defer func() { _ = caddy.Stop() }()
				base := liveHeap()
				if err := caddy.Load(cfg, true); err != nil {
					b.Fatal(err)
				}
				loaded := liveHeap()
				b.ReportAllocs()
				cpu := cputime.Process()
				for b.Loop() {
					if err := caddy.Load(cfg, true); err != nil {
						b.Fatal(err)
					}
				}
				// Process CPU time per reload: steadier than wall time when
				// other jobs share the machine.
				b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/op")
				b.ReportMetric(float64(loaded-base)/float64(n), "heapB/site")
			})
		}
	}
}

// liveHeap is the heap in use after a collection.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// loadBenchConfig is the JSON of n host routes on addr.
func loadBenchConfig(n int, stepup bool, addr, storage string) string {
	var routes []string
	for i := range n {
		handle := `{"handler":"static_response","body":"ok"}`
		if stepup {
			handle = fmt.Sprintf(`{"handler":"stepup","provider":{"issuer":"https://idp.example","client_id":"edge","client_secret":"s"},`+
				`"acr_levels":["urn:pwd","urn:otp"],"rules":[{"name":"admin%d","match":[{"path":["/admin%d/*"]}],"acr":["urn:otp"]}]},`, i, i) + handle
		}
		routes = append(routes, fmt.Sprintf(`{"match":[{"host":["app%d.example"]}],"handle":[%s],"terminal":true}`, i, handle))
	}
	return fmt.Sprintf(`{"admin":{"disabled":true},"storage":{"module":"file_system","root":%q},`+
		`"logging":{"logs":{"default":{"level":"ERROR"}}},`+
		`"apps":{"http":{"servers":{"s":{"listen":[%q],"automatic_https":{"disable":true},"routes":[%s]}}}}}`,
		storage, addr, strings.Join(routes, ","))
}
