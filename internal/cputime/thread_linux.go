//go:build linux

package cputime

import (
	"syscall"
	"time"
	"unsafe"
)

// Thread is the CPU time the calling OS thread has used
// (CLOCK_THREAD_CPUTIME_ID, nanoseconds). Around a call made with the
// goroutine locked to its thread (runtime.LockOSThread), the difference is
// the CPU the call itself used: neither the time the thread waited for a
// core on a shared machine nor work done meanwhile by other goroutines.
func Thread() time.Duration {
	var ts syscall.Timespec
	const clockThreadCPUTimeID = 3
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0
	}
	return time.Duration(ts.Nano())
}
