package main

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// benchLine is one result line of `go test -bench` output.
var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+(\d+)\s+(.*)$`)

// runSummarize reads `go test -bench` output (any -count) and prints a
// Markdown table of medians per benchmark, then issue 7's targets.
func runSummarize(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: stepup-bench summarize GO-BENCH-OUTPUT")
	}
	f, err := os.Open(args[0])
	if err != nil {
		return err
	}
	defer f.Close()
	type result struct {
		pkg     string
		metrics map[string][]float64
		units   []string
	}
	var order []string
	results := map[string]*result{}
	pkg := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = p[strings.LastIndexByte(p, '/')+1:]
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		name := strings.TrimPrefix(m[1], "Benchmark")
		r, ok := results[name]
		if !ok {
			r = &result{pkg: pkg, metrics: map[string][]float64{}}
			results[name] = r
			order = append(order, name)
		}
		fields := strings.Fields(m[3])
		for i := 0; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				continue
			}
			unit := fields[i+1]
			if _, seen := r.metrics[unit]; !seen {
				r.units = append(r.units, unit)
			}
			r.metrics[unit] = append(r.metrics[unit], v)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	get := func(name, unit string) (float64, bool) {
		r, ok := results[name]
		if !ok || len(r.metrics[unit]) == 0 {
			return 0, false
		}
		return median(r.metrics[unit]), true
	}

	var b strings.Builder
	b.WriteString("| package | benchmark | runs | ns/op | B/op | allocs/op | other (median) |\n|---|---|--:|--:|--:|--:|---|\n")
	for _, name := range order {
		r := results[name]
		var other []string
		for _, u := range r.units {
			if u == "ns/op" || u == "B/op" || u == "allocs/op" {
				continue
			}
			other = append(other, fmt.Sprintf("%s %s", num(median(r.metrics[u])), u))
		}
		ns, _ := get(name, "ns/op")
		bytes, _ := get(name, "B/op")
		allocs, _ := get(name, "allocs/op")
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s | %s | %s |\n", r.pkg, name, len(r.metrics["ns/op"]), num(ns), num(bytes), num(allocs), strings.Join(other, ", "))
	}

	b.WriteString("\nIssue 7's benchmark targets, from this run:\n\n")
	for _, name := range []string{"FastPath/session", "FastPath/session+risk"} {
		ns, ok1 := get(name, "ns/op")
		allocs, ok2 := get(name, "allocs/op")
		if ok1 && ok2 {
			fmt.Fprintf(&b, "- %s ≤ 3 µs/op and ≤ 4 allocs/op: %s ns/op, %s allocs/op — %s\n", name, num(ns), num(allocs), verdict(ns <= 3000 && allocs <= 4))
		}
	}
	if ns, ok := get("EvaluateAllSignals", "ns/op"); ok {
		allocs, _ := get("EvaluateAllSignals", "allocs/op")
		fmt.Fprintf(&b, "- risk EvaluateAllSignals ≤ 1 µs/op and 0 allocs/op: %s ns/op, %s allocs/op — %s\n", num(ns), num(allocs), verdict(ns <= 1000 && allocs == 0))
	}
	for _, name := range []string{"Bearer/cached_RS256", "Bearer/cached_ES256"} {
		if ns, ok := get(name, "ns/op"); ok {
			verify, _ := get(strings.Replace(name, "cached", "verify", 1), "ns/op")
			fmt.Fprintf(&b, "- %s ≤ 5 µs: %s ns/op (%.0f× cheaper than verifying: %s ns/op) — %s\n", name, num(ns), verify/ns, num(verify), verdict(ns <= 5000))
		}
	}
	var perRule []string
	var costs []float64
	for _, n := range []float64{1, 10, 100} {
		if ns, ok := get(fmt.Sprintf("RuleMatching/rules=%.0f", n), "ns/op"); ok {
			costs = append(costs, ns/n)
			perRule = append(perRule, fmt.Sprintf("%.0f rules: %s ns (%.0f ns/rule)", n, num(ns), ns/n))
		}
	}
	if len(costs) == 3 {
		// Linear or better: the cost per rule does not grow with the number
		// of rules (25% allowed for noise).
		linear := costs[2] <= 1.25*slices.Min(costs[:2])
		fmt.Fprintf(&b, "- rule matching grows no worse than linearly: %s — %s\n", strings.Join(perRule, "; "), verdict(linear))
	}
	for _, unit := range []string{"ns/op", "cpu-ns/op"} {
		// Issue 17: the signed assertion may add at most 1 µs a request,
		// amortised; a miss signs (ECDSA, finishing a pooled nonce; or
		// whole when the pool is empty), a hit reuses the cached token.
		// cpu-ns/op (process CPU time) is the steadier figure on a shared
		// machine; its absolute values include preparing the requests, so
		// only differences count.
		off, ok := get("Assertion/off", unit)
		if !ok {
			continue
		}
		hit, _ := get("Assertion/hit", unit)
		miss, _ := get("Assertion/miss", unit)
		need := "unreachable: a hit alone adds more"
		if hit-off < 1000 {
			need = fmt.Sprintf("%.1f%%", 100*(1-(1000-(hit-off))/(miss-hit)))
		}
		unpooled := ""
		if v, ok := get("Assertion/miss_unpooled", unit); ok {
			unpooled = fmt.Sprintf(" (%s with the nonce pool empty)", num(v-off))
		}
		fmt.Fprintf(&b, "- signed assertion (issue 17), %s against Assertion/off (%s) in the same run: a cache hit adds %s, a miss adds %s%s; +1 µs amortised needs a hit rate of at least %s\n",
			unit, num(off), num(hit-off), num(miss-off), unpooled, need)
		for _, rate := range []string{"90", "97", "99"} {
			if v, ok := get("Assertion/hit_rate="+rate, unit); ok {
				fmt.Fprintf(&b, "  - at a %s%% hit rate: +%s %s — %s\n", rate, num(v-off), unit, verdict(v-off <= 1000))
			}
		}
	}
	// Issue 19 item 1, Kubernetes: what the adapter adds to one conversion
	// of N Ingresses (k8s/translate), against the same Ingresses without
	// step-up annotations in the same run.
	for _, n := range []string{"1", "100", "1000", "5000"} {
		name := "TranslateIngresses/ingresses=" + n + "/"
		plain, ok1 := get(name+"plain", "cpu-ns/op")
		stepup, ok2 := get(name+"stepup", "cpu-ns/op")
		if !ok1 || !ok2 || plain == 0 {
			continue
		}
		pa, _ := get(name+"plain", "allocs/op")
		sa, _ := get(name+"stepup", "allocs/op")
		fmt.Fprintf(&b, "- k8s translation of %s Ingresses: %s cpu-ns/op annotated vs %s plain (%.2f×), %s vs %s allocs/op\n",
			n, num(stepup), num(plain), stepup/plain, num(sa), num(pa))
	}
	// Issue 17 again, under a workload model (stepup/assertion_workload_bench_test.go):
	// what a request waits for (serve-ns/op) and all CPU including the
	// background work (cpu-ns/op: re-signing, making nonces), against the
	// same trace without an assertion.
	for _, model := range []string{"api-fast", "api", "browser", "mixed"} {
		base := "AssertionWorkload/model=" + model + "/assertion="
		offServe, ok1 := get(base+"off", "serve-ns/op")
		onServe, ok2 := get(base+"on", "serve-ns/op")
		if !ok1 || !ok2 {
			continue
		}
		offCPU, _ := get(base+"off", "cpu-ns/op")
		onCPU, _ := get(base+"on", "cpu-ns/op")
		hits, _ := get(base+"on", "hit-%")
		// serve-cpu-ns/op (Linux): the CPU of the request's own thread in
		// ServeHTTP, which waiting for a core on a busy machine does not
		// inflate.
		own := ""
		if offOwn, ok := get(base+"off", "serve-cpu-ns/op"); ok {
			onOwn, _ := get(base+"on", "serve-cpu-ns/op")
			own = fmt.Sprintf(" (its own CPU: %s ns)", num(onOwn-offOwn))
		}
		fmt.Fprintf(&b, "- signed assertion, workload %s: %.1f%% of requests wait for no signature; the request path adds %s ns (%.2f×)%s, all CPU with background work %s ns per request — %s\n",
			model, hits, num(onServe-offServe), onServe/offServe, own, num(onCPU-offCPU), verdict(onServe-offServe <= 1000))
		// "control": off with a signature between every third request, as
		// on does its background work there (the caches it leaves cold), so
		// on against it is what the assertion's request path adds.
		if ctlServe, ok := get(base+"control", "serve-ns/op"); ok {
			ctlOwn := ""
			if ctl, ok := get(base+"control", "serve-cpu-ns/op"); ok {
				onOwn, _ := get(base+"on", "serve-cpu-ns/op")
				ctlOwn = fmt.Sprintf(" (its own CPU: %s ns)", num(onOwn-ctl))
			}
			fmt.Fprintf(&b, "  - against the control (off, with a signature between every third request): the request path adds %s ns%s — %s\n",
				num(onServe-ctlServe), ctlOwn, verdict(onServe-ctlServe <= 1000))
		}
	}
	if held, ok := get("FrequencyTrackerMillionIPs", "heap-bytes@1M"); ok {
		table, _ := get("FrequencyTrackerMillionIPs", "table-bytes")
		fmt.Fprintf(&b, "- risk frequency tracker after one million distinct client IPs: %.1f MiB of heap held (tables: %.1f MiB, fixed)\n", held/(1<<20), table/(1<<20))
	}
	fmt.Print(b.String())
	return nil
}

func num(v float64) string {
	switch {
	case v == float64(int64(v)):
		return strconv.FormatInt(int64(v), 10)
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}
