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

func loadReport(c *loadConfig, targets []*target, before, after string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Load: loopback, wrk\n\n")
	fmt.Fprintf(&b, "`wrk -t1 -c%d --latency`, %d interleaved rounds of %s per target (order rotated each round, after a %s warm-up each). ",
		c.conns, c.rounds, c.duration, c.warmup)
	fmt.Fprintf(&b, "Caddy, the upstream and the auth stub pinned to CPU %s, wrk to CPU %s. GET %s from a browser-like client (X-Forwarded-For %s, trusted). ",
		c.serverCPU, c.clientCPU, c.targetPath, c.clientIP)
	fmt.Fprintf(&b, "Load average before: %s, after: %s.\n\n", before, after)

	base := targets[0]
	rps := func(r run) float64 { return r.reqPerSec }
	cpu := func(r run) float64 { return r.cpuPerReq }
	rss := func(r run) float64 { return r.rssMiB }
	b.WriteString("| target | req/s | vs `reverse_proxy` | server CPU µs/req | Δ CPU µs/req | p50 ms | p99 ms | Caddy RSS MiB |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, t := range targets {
		delta := "—"
		if t != base {
			delta = fmt.Sprintf("%+.1f", paired(t, base, func(x, y run) float64 { return x.cpuPerReq - y.cpuPerReq }))
		}
		fmt.Fprintf(&b, "| %s | %.0f | %.2f× | %.1f | %s | %.2f | %.2f | %.1f |\n", t.title, med(t, rps),
			paired(t, base, func(x, y run) float64 { return x.reqPerSec / y.reqPerSec }), med(t, cpu), delta,
			med(t, func(r run) float64 { return r.p50 }), med(t, func(r run) float64 { return r.p99 }), med(t, rss))
	}
	b.WriteString("\nMedians over the rounds; the ratio and Δ columns are medians of each round's figure against `reverse_proxy` in the same round. ")
	b.WriteString("Server CPU is the user+system time of Caddy and the upstream (and the auth stub for `forward_auth`) over a run, per completed request. ")
	b.WriteString("RSS is the highest VmRSS of the Caddy process seen during a run (sampled every 250 ms).\n\n")
	b.WriteString("Each round's req/s:\n\n")
	for _, t := range targets {
		var xs []string
		for _, r := range t.runs {
			x := fmt.Sprintf("%.0f", r.reqPerSec)
			if r.socketErrs != "" {
				x += " (socket errors: " + r.socketErrs + ")"
			}
			xs = append(xs, x)
		}
		fmt.Fprintf(&b, "- %s: %s\n", t.name, strings.Join(xs, ", "))
	}

	find := func(name string) *target {
		for _, t := range targets {
			if t.name == name {
				return t
			}
		}
		return nil
	}
	ratio := func(x, y run) float64 { return x.reqPerSec / y.reqPerSec }
	b.WriteString("\nIssue 7's load targets, from this run (paired ratios: median, and the middle half of the rounds):\n\n")
	if risk := find("risk"); risk != nil {
		fmt.Fprintf(&b, "- stepup + risk ≥ 0.95× `reverse_proxy`: %.2f× (%s) — %s\n",
			paired(risk, base, ratio), spread(risk, base, ratio), verdict(paired(risk, base, ratio) >= 0.95))
		if fa := find("forward_auth"); fa != nil {
			vsFA, faVsBase := paired(risk, fa, ratio), paired(fa, base, ratio)
			fmt.Fprintf(&b, "- stepup + risk ≥ 1.8× `forward_auth`: %.2f× (%s) — %s; `forward_auth` ran at %.2f× `reverse_proxy` here, so 1.8× of it is %.2f× `reverse_proxy`\n",
				vsFA, spread(risk, fa, ratio), verdict(vsFA >= 1.8), faVsBase, 1.8*faVsBase)
		}
	}
	if t := find("stepup"); t != nil {
		fmt.Fprintf(&b, "- stepup with a session, for reference: %.2f× `reverse_proxy` (%s)\n", paired(t, base, ratio), spread(t, base, ratio))
	}
	if ctl := find("bytes"); ctl != nil {
		cpuDelta := func(x, y run) float64 { return x.cpuPerReq - y.cpuPerReq }
		fmt.Fprintf(&b, "- the same request bytes without stepup (cookie in, X-Auth-User out): %.2f× `reverse_proxy`, %+.1f µs CPU/req\n",
			paired(ctl, base, ratio), paired(ctl, base, cpuDelta))
		for _, name := range []string{"stepup", "risk"} {
			if t := find(name); t != nil {
				fmt.Fprintf(&b, "- %s against those same bytes (stepup's own work): %.2f× (%s), %+.1f µs CPU/req\n",
					t.title, paired(t, ctl, ratio), spread(t, ctl, ratio), paired(t, ctl, cpuDelta))
			}
		}
	}
	for _, name := range []string{"stepup", "risk"} {
		if t := find(name); t != nil {
			fmt.Fprintf(&b, "- Caddy RSS under load, %s: %+.1f MiB against plain Caddy\n", t.title, med(t, rss)-med(base, rss))
		}
	}
	return b.String()
}

// spread is the interquartile range of f over the rounds, as "q1–q3".
func spread(t, base *target, f func(t, base run) float64) string {
	var xs []float64
	for i := range min(len(t.runs), len(base.runs)) {
		xs = append(xs, f(t.runs[i], base.runs[i]))
	}
	if len(xs) < 4 {
		return "too few rounds for a spread"
	}
	slices.Sort(xs)
	q1, q3 := median(xs[:len(xs)/2]), median(xs[(len(xs)+1)/2:])
	return fmt.Sprintf("middle half %.2f–%.2f", q1, q3)
}

// paired is the median over the rounds of f(t's run, base's run).
func paired(t, base *target, f func(t, base run) float64) float64 {
	var xs []float64
	for i := range min(len(t.runs), len(base.runs)) {
		xs = append(xs, f(t.runs[i], base.runs[i]))
	}
	return median(xs)
}

func med(t *target, f func(run) float64) float64 {
	var xs []float64
	for _, r := range t.runs {
		xs = append(xs, f(r))
	}
	return median(xs)
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "**missed**"
}

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
