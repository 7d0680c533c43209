package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
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

// cpuTicks sums user and system time of the processes, in clock ticks.
func cpuTicks(pids []int) int64 {
	var total int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the parenthesised command name: state is field 3,
		// utime 14 and stime 15.
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		for _, f := range fields[11:13] {
			v, _ := strconv.ParseInt(f, 10, 64)
			total += v
		}
	}
	return total
}

var clockTicks = func() func() float64 {
	hz := 100.0
	if out, err := exec.Command("getconf", "CLK_TCK").Output(); err == nil {
		if v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil && v > 0 {
			hz = v
		}
	}
	return func() float64 { return hz }
}()

// rssMiB is a process's resident set (VmRSS) in MiB.
func rssMiB(pid int) float64 { return procStatusKiB(pid, "VmRSS:") / 1024 }

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
