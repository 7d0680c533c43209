package main

import (
	"fmt"
	"strings"
)

// loginsReport is the Markdown of a logins run.
func loginsReport(c *loginsConfig, targets []*loginTarget, before, after string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Logins per second per core: the callback path\n\n")
	fmt.Fprintf(&b, "%d rounds of %d callbacks per target from %d concurrent clients, targets rotated each round; "+
		"servers pinned to CPU %s, the OPs (own processes) to CPU %s. Per core = callbacks / the server's CPU time. "+
		"Medians [min–max]. Load average %s at the start, %s at the end.\n\n",
		c.rounds, c.logins, c.conns, c.serverCPU, c.clientCPU, before, after)
	b.WriteString("| server | ID token | logins/s per core | server CPU per login (µs) | logins/s wall | OP CPU per login (µs) |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|\n")
	for _, t := range targets {
		col := func(f func(loginRun) float64) []float64 {
			var xs []float64
			for _, r := range t.runs {
				xs = append(xs, f(r))
			}
			return xs
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", t.name, t.alg,
			spread(col(func(r loginRun) float64 { return r.perCoreSec })),
			spread(col(func(r loginRun) float64 { return r.cpuPerLogin })),
			spread(col(func(r loginRun) float64 { return r.perSec })),
			spread(col(func(r loginRun) float64 { return r.opPerLogin })))
	}
	// stepup against oauth2-proxy per alg, paired by round.
	for _, alg := range []string{"RS256", "ES256"} {
		var s, o *loginTarget
		for _, t := range targets {
			if t.alg == alg && t.name == "stepup" {
				s = t
			} else if t.alg == alg && t.name == "oauth2-proxy" {
				o = t
			}
		}
		if s == nil || o == nil {
			continue
		}
		var ratios []float64
		for i := range min(len(s.runs), len(o.runs)) {
			ratios = append(ratios, s.runs[i].perCoreSec/o.runs[i].perCoreSec)
		}
		fmt.Fprintf(&b, "\n%s: stepup / oauth2-proxy logins per core, paired by round: %s×", alg, spread(ratios))
	}
	b.WriteString("\n")
	return b.String()
}
