//go:build unix

package stepup

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used (user + system). On a
// machine shared with other work, wall-clock ns/op counts the time spent
// waiting for a core; CPU time does not.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
