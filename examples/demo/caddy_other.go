//go:build !linux

package main

import "syscall"

// childProcAttr: elsewhere Caddy shares the terminal's process group and
// receives Ctrl-C itself; the demo then stops it again, harmlessly.
func childProcAttr() *syscall.SysProcAttr { return nil }
