//go:build !linux

package hydra

import "os/exec"

// setParentDeathSignal is Linux-only; elsewhere t.Cleanup is the only guard.
func setParentDeathSignal(cmd *exec.Cmd) {}
