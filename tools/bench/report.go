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
	b.WriteString("| target | req/s | vs `reverse_proxy` | 95% CI | server CPU µs/req | Δ CPU µs/req | p50 ms | p99 ms | Caddy RSS MiB |\n")
	b.WriteString("|---|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for _, t := range targets {
		vs, ci, delta := "1.00×", "—", "—"
		if t != base {
			vs = fmt.Sprintf("%.3f×", paired(t, base, ratio))
			ci = intervalText(t, base, ratio, "%.3f–%.3f")
			delta = fmt.Sprintf("%+.1f (%s)", paired(t, base, cpuDelta), intervalText(t, base, cpuDelta, "%+.1f…%+.1f"))
		}
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %.1f | %s | %.2f | %.2f | %.1f |\n", t.title, med(t, rps), vs, ci, med(t, cpu), delta,
			med(t, func(r run) float64 { return r.p50 }), med(t, func(r run) float64 { return r.p99 }), med(t, rss))
	}
	b.WriteString("\nMedians over the rounds; the ratio and Δ columns are medians of each round's figure against `reverse_proxy` in the same round, ")
	b.WriteString("with a 95% bootstrap confidence interval for that median (4,000 resamples of the rounds). ")
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
	claim := func(t, against *target, target float64) string {
		xs := pairs(t, against, ratio)
		est := median(xs)
		ci, ok := medianInterval(xs)
		return fmt.Sprintf("%.3f× (%s) — %s", est, formatInterval(ci, ok, ratioCI), judgement(est, ci, ok, target))
	}
	b.WriteString("\nIssue 7's load targets, from this run (medians of the rounds' paired ratios, with their 95% confidence intervals):\n\n")
	if risk := find("risk"); risk != nil {
		fmt.Fprintf(&b, "- stepup + risk ≥ 0.95× `reverse_proxy`: %s\n", claim(risk, base, 0.95))
		if fa := find("forward_auth"); fa != nil {
			faVsBase := paired(fa, base, ratio)
			fmt.Fprintf(&b, "- stepup + risk ≥ 1.8× `forward_auth`: %s; `forward_auth` ran at %.3f× `reverse_proxy` here, so 1.8× of it is %.3f× `reverse_proxy`\n",
				claim(risk, fa, 1.8), faVsBase, 1.8*faVsBase)
		}
		if fac := find("forward_auth_cookie"); fac != nil {
			fmt.Fprintf(&b, "- not the issue's comparison, for context: stepup + risk against `forward_auth` sent the same Cookie header (as an auth server that reads a session would be): %s; that `forward_auth` ran at %.3f× `reverse_proxy`\n",
				vsText(risk, fac), paired(fac, base, ratio))
		}
	}
	if t := find("stepup"); t != nil {
		fmt.Fprintf(&b, "- stepup with a session, without risk, for reference: %s\n", vsTextOf(t, base, "`reverse_proxy`"))
	}
	if twin := find("plain2"); twin != nil {
		fmt.Fprintf(&b, "- the noise floor: a second, identical `reverse_proxy` Caddy measured %s; differences inside that are not differences\n",
			vsTextOf(twin, base, "the first"))
	}
	if ctl := find("bytes"); ctl != nil {
		fmt.Fprintf(&b, "- the same request bytes without stepup (cookie in, X-Auth-User out): %.3f× `reverse_proxy`, %+.1f µs CPU/req\n",
			paired(ctl, base, ratio), paired(ctl, base, cpuDelta))
		for _, name := range []string{"stepup", "risk", "risk_redis"} {
			if t := find(name); t != nil {
				fmt.Fprintf(&b, "- %s against those same bytes (stepup's own work): %s, %+.1f µs CPU/req\n",
					t.title, vsText(t, ctl), paired(t, ctl, cpuDelta))
			}
		}
	}
	if rr, risk := find("risk_redis"), find("risk"); rr != nil && risk != nil {
		fmt.Fprintf(&b, "- the shared store's cost: stepup + risk with `state redis` against the same with `state memory`: %s, %+.1f µs server CPU/req (the redis-server's CPU included, pinned beside Caddy)\n",
			vsText(rr, risk), paired(rr, risk, cpuDelta))
	}
	for _, name := range []string{"stepup", "risk", "risk_redis"} {
		if t := find(name); t != nil {
			fmt.Fprintf(&b, "- Caddy RSS under load, %s: %+.1f MiB against plain Caddy\n", t.title, med(t, rss)-med(base, rss))
		}
	}
	return b.String()
}

// pairs is f(t's run, base's run) for each round.
func pairs(t, base *target, f func(t, base run) float64) []float64 {
	var xs []float64
	for i := range min(len(t.runs), len(base.runs)) {
		xs = append(xs, f(t.runs[i], base.runs[i]))
	}
	return xs
}

// paired is the median over the rounds of f(t's run, base's run).
func paired(t, base *target, f func(t, base run) float64) float64 {
	return median(pairs(t, base, f))
}

// The figures compared round by round: t's throughput over base's, and
// t's server CPU per request minus base's.
func ratio(t, base run) float64    { return t.reqPerSec / base.reqPerSec }
func cpuDelta(t, base run) float64 { return t.cpuPerReq - base.cpuPerReq }

// ratioCI is how a throughput ratio's interval reads in the target lines.
const ratioCI = "95%% CI %.3f–%.3f"

// vsText is t's median throughput ratio against base with its interval:
// "0.963× (95% CI 0.954–0.977)".
func vsText(t, base *target) string {
	return fmt.Sprintf("%.3f× (%s)", paired(t, base, ratio), intervalText(t, base, ratio, ratioCI))
}

// vsTextOf is vsText naming what base is: "0.963× the first (95% CI …)".
func vsTextOf(t, base *target, baseName string) string {
	return fmt.Sprintf("%.3f× %s (%s)", paired(t, base, ratio), baseName, intervalText(t, base, ratio, ratioCI))
}

// intervalText formats the confidence interval of paired(t, base, f) with
// format (two verbs), or says there were too few rounds for one.
func intervalText(t, base *target, f func(t, base run) float64, format string) string {
	ci, ok := medianInterval(pairs(t, base, f))
	return formatInterval(ci, ok, format)
}

func formatInterval(ci interval, ok bool, format string) string {
	if !ok {
		return fmt.Sprintf("fewer than %d rounds: no interval", minRoundsForInterval)
	}
	return fmt.Sprintf(format, ci.lo, ci.hi)
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
	for _, unit := range []string{"ns/op", "cpu-ns/op"} {
		// Issue 17: the signed assertion may add at most 1 µs a request,
		// amortised; a miss signs (ECDSA), a hit reuses the cached token.
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
		fmt.Fprintf(&b, "- signed assertion (issue 17), %s against Assertion/off (%s) in the same run: a cache hit adds %s, a miss adds %s; +1 µs amortised needs a hit rate of at least %s\n",
			unit, num(off), num(hit-off), num(miss-off), need)
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
	// what a request waits for (serve-ns/op) and all CPU including background
	// re-signing (cpu-ns/op), against the same trace without an assertion.
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
		fmt.Fprintf(&b, "- signed assertion, workload %s: %.1f%% of requests wait for no signature; the request path adds %s ns (%.2f×), all CPU with background re-signing %s ns per request — %s\n",
			model, hits, num(onServe-offServe), onServe/offServe, num(onCPU-offCPU), verdict(onServe-offServe <= 1000))
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
