// Package childproc stops a child process as a terminal's owner would:
// asked first, killed only if it does not go. The demo (examples/demo) and
// the integration tests' Caddy, Hydra and demo processes stop this way.
package childproc

import (
	"os"
	"syscall"
	"time"
)

// Stop sends p SIGTERM and waits up to grace for done, which the caller
// closes once its Wait on p has returned; if done is not closed by then, p
// is killed and Stop waits for done. A process that has already exited is
// left alone: once Wait has returned, os.Process sends no signal. killed
// says whether the grace ran out.
func Stop(p *os.Process, done <-chan struct{}, grace time.Duration) (killed bool) {
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-done:
		return false
	case <-time.After(grace):
		_ = p.Kill()
		<-done
		return true
	}
}
