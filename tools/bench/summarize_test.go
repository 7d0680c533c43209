package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The workload lines of the summary: the request path against off, the
// request thread's own CPU, and the control baseline, from medians.
func TestSummarizeAssertionWorkloadAgainstOffAndControl(t *testing.T) {
	in := `pkg: github.com/caddy-stepup/caddy-stepup/stepup
BenchmarkAssertionWorkload/model=api-fast/assertion=off-2      	20000	      9000 serve-ns/op	      7000 serve-cpu-ns/op	     30000 cpu-ns/op
BenchmarkAssertionWorkload/model=api-fast/assertion=off-2      	20000	      9200 serve-ns/op	      7100 serve-cpu-ns/op	     30000 cpu-ns/op
BenchmarkAssertionWorkload/model=api-fast/assertion=off-2      	20000	      8800 serve-ns/op	      6900 serve-cpu-ns/op	     30000 cpu-ns/op
BenchmarkAssertionWorkload/model=api-fast/assertion=on-2       	20000	     10500 serve-ns/op	      8500 serve-cpu-ns/op	     55000 cpu-ns/op	        99.8 hit-%
BenchmarkAssertionWorkload/model=api-fast/assertion=control-2  	20000	     10000 serve-ns/op	      8200 serve-cpu-ns/op	     54000 cpu-ns/op
BenchmarkAssertionWorkload/model=browser/assertion=off-2       	20000	      9000 serve-ns/op	     30000 cpu-ns/op
BenchmarkAssertionWorkload/model=browser/assertion=on-2        	20000	     37000 serve-ns/op	     76000 cpu-ns/op	        14.6 hit-%
`
	out := summarize(t, in)
	for _, want := range []string{
		"workload api-fast: 99.8% of requests wait for no signature; the request path adds 1500 ns (1.17×) (its own CPU: 1500 ns), all CPU with background work 25000 ns per request — **missed**",
		"against the control (off, with a signature between every third request): the request path adds 500 ns (its own CPU: 300 ns) — met",
		"workload browser: 14.6% of requests wait for no signature; the request path adds 28000 ns (4.11×), all CPU with background work 46000 ns per request — **missed**",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "against the control"); n != 1 {
		t.Errorf("%d control lines, want 1 (browser has no control run):\n%s", n, out)
	}
}

// The per-request assertion line: a hit and a miss with a pooled nonce
// against off, the miss with the pool empty beside it, and the hit rate
// that +1 µs needs.
func TestSummarizeAssertionMissWithAndWithoutThePool(t *testing.T) {
	in := `pkg: github.com/caddy-stepup/caddy-stepup/stepup
BenchmarkAssertion/off-2            	20000	      1000 ns/op
BenchmarkAssertion/hit-2            	20000	      1300 ns/op
BenchmarkAssertion/miss-2           	20000	      6000 ns/op
BenchmarkAssertion/miss_unpooled-2  	20000	     31000 ns/op
`
	out := summarize(t, in)
	want := "a cache hit adds 300, a miss adds 5000 (30000 with the nonce pool empty); +1 µs amortised needs a hit rate of at least 85.1%"
	if !strings.Contains(out, want) {
		t.Errorf("summary lacks %q:\n%s", want, out)
	}
}

// summarize runs runSummarize on in and returns what it printed.
func summarize(t *testing.T, in string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "bench.txt")
	if err := os.WriteFile(file, []byte(in), 0o600); err != nil {
		t.Fatal(err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	runErr := runSummarize([]string{file})
	os.Stdout = stdout
	w.Close()
	out, _ := io.ReadAll(r)
	if runErr != nil {
		t.Fatal(runErr)
	}
	return string(out)
}
