package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cpuNanos is the CPU time the processes' threads have run, in ns, from
// /proc/<pid>/task/*/schedstat: nanosecond resolution, where /proc/<pid>/stat
// counts clock ticks (10 ms), too coarse for a reload of a few sites. A
// thread that exited no longer counts; Go's threads rarely exit.
func cpuNanos(pids []int) int64 {
	var total int64
	for _, pid := range pids {
		paths, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				continue
			}
			if f := strings.Fields(string(b)); len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				total += v
			}
		}
	}
	return total
}

// procStatusKiB reads one kB field of /proc/<pid>/status (VmRSS:, VmHWM:).
func procStatusKiB(pid int, field string) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb
		}
	}
	return 0
}
