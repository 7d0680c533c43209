package hydra

import (
	"os/exec"
	"syscall"
)

// setParentDeathSignal makes the kernel kill Hydra if the test binary dies
// without running its cleanups (e.g. a `go test -timeout` panic or SIGKILL),
// so no Hydra is ever left running.
func setParentDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
