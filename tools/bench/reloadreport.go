package main

import (
	"fmt"
	"slices"
	"strings"
)

// reloadReport is the Markdown of a reload run: per size, plain against
// stepup, and what stepup adds.
func reloadReport(c *reloadConfig, all []*reloadTarget, before, after string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### Config load and reload, real Caddy through the admin API\n\n")
	fmt.Fprintf(&b, "Caddy pinned to CPU %s; %d reloads per kind and size, plain and stepup alternating; "+
		"medians [min–max]. Load average %s at the start, %s at the end.\n\n", c.serverCPU, c.reloads, before, after)
	b.WriteString("| sites | reload wall plain / stepup (ms) | stepup adds | reload CPU plain / stepup (ms) | stepup adds | first load wall plain / stepup (ms) | RSS plain / stepup (MiB) | RSS per handler | VmHWM plain / stepup (MiB) | live heap per handler |\n")
	b.WriteString("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
	for i := 0; i+1 < len(all); i += 2 {
		p, s := all[i], all[i+1]
		n := float64(p.n)
		fmt.Fprintf(&b, "| %d | %s / %s | %+.0f %% | %s / %s | %+.0f %% | %.1f / %.1f | %.1f / %.1f | %s | %.1f / %.1f | %s |\n",
			p.n, spread(p.wall), spread(s.wall), pct(median(s.wall), median(p.wall)),
			spread(p.cpu), spread(s.cpu), pct(median(s.cpu), median(p.cpu)),
			p.loadWall, s.loadWall, p.rss/1024, s.rss/1024, kib((s.rss-p.rss)/n),
			p.hwm/1024, s.hwm/1024, kib((s.heap-p.heap)/n))
	}
	b.WriteString("\nFirst request after a reload (client-side latency over one kept-alive connection; " +
		"a site's first request after each reload, then the same request again):\n\n")
	b.WriteString("| sites | plain first / warm (µs) | plain ratio | stepup first / warm (µs) | stepup ratio |\n|--:|--:|--:|--:|--:|\n")
	for i := 0; i+1 < len(all); i += 2 {
		p, s := all[i], all[i+1]
		fmt.Fprintf(&b, "| %d | %s / %s | %.2f× | %s / %s | %.2f× |\n", p.n,
			spread(p.first), spread(p.warm), median(p.first)/median(p.warm),
			spread(s.first), spread(s.warm), median(s.first)/median(s.warm))
	}
	b.WriteString("\nRSS is VmRSS after the reloads and a forced collection; per handler is (stepup − plain) / sites, " +
		"so at 1 site it is mostly noise. Live heap is Go's HeapAlloc after that collection.\n")
	return b.String()
}

func pct(x, base float64) float64 { return (x/base - 1) * 100 }

func kib(v float64) string { return fmt.Sprintf("%.1f KiB", v) }

// spread is "median [min–max]".
func spread(xs []float64) string {
	s := slices.Sorted(slices.Values(xs))
	return fmt.Sprintf("%s [%s–%s]", num1(median(xs)), num1(s[0]), num1(s[len(s)-1]))
}

func num1(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}
