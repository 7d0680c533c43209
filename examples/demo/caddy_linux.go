package main

import "syscall"

// childProcAttr puts Caddy in its own process group, so a Ctrl-C in the
// terminal reaches only the demo, which then stops Caddy in order; and it
// has the kernel kill Caddy should the demo die without cleaning up.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
