package main

import (
	"strings"
	"testing"
)

// synthetic builds a target whose rounds ran at rps[i] requests a second.
func synthetic(name, title string, rps ...float64) *target {
	t := &target{name: name, title: title}
	for _, x := range rps {
		t.runs = append(t.runs, run{reqPerSec: x, requests: x * 3, cpuPerReq: 1e6 / x, rssMiB: 50})
	}
	return t
}

// The report states each load target's figure, its interval and the
// verdict the interval supports.
func TestLoadReportStatesVerdictsFromIntervals(t *testing.T) {
	base := synthetic("plain", "plain", 1000, 1010, 990, 1005, 995, 1000, 1002, 998, 1001, 999)
	risk := synthetic("risk", "risk", 970, 982, 958, 975, 965, 971, 972, 968, 969, 970)
	fa := synthetic("forward_auth", "fa", 560, 566, 553, 563, 557, 561, 560, 559, 562, 558)
	c := &loadConfig{conns: 32, rounds: 10, serverCPU: "0", clientCPU: "1", targetPath: "/admin", clientIP: "192.0.2.1"}
	out := loadReport(c, []*target{base, risk, fa}, "0 0 0", "0 0 0")
	for _, want := range []string{
		"- stepup + risk ≥ 0.95× `reverse_proxy`: 0.970× (95% CI ",
		") — met (the whole interval clears it)\n",
		"- stepup + risk ≥ 1.8× `forward_auth`: 1.732× (95% CI ",
		") — **missed** (the whole interval falls short); `forward_auth` ran at 0.560× `reverse_proxy` here",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
}
