package main

import (
	"fmt"
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
