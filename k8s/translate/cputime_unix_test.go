//go:build unix

package translate_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time this process has used (user + system): on a
// shared machine wall-clock ns/op also counts waiting for a core.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
