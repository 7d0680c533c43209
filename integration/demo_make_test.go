package integration

import (
	"strings"
	"testing"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/demo"
)

// TestMakeDemoExitsZeroOnCtrlC runs `make demo` as a person does, on a
// terminal, and presses Ctrl-C: make must exit 0 (not "Error 1" or killed
// by the signal) with the demo's shutdown reported and nothing left
// listening. The time to the ready line is logged, not asserted.
func TestMakeDemoExitsZeroOnCtrlC(t *testing.T) {
	run := demo.RunMakeDemoAndPressCtrlC(t)
	t.Logf("make demo was ready after %s (a warm start when bin/caddy is up to date)", run.Ready.Round(100_000_000))
	if run.ExitCode != 0 {
		t.Errorf("make demo exited %d after Ctrl-C, want 0:\n%s", run.ExitCode, run.Output)
	}
	if !strings.Contains(run.Output, "Stopped.") || strings.Contains(run.Output, "make: ***") {
		t.Errorf("make demo did not stop cleanly:\n%s", run.Output)
	}
	if open := demo.Listening(run.Ports); len(open) > 0 {
		t.Errorf("ports still listening after Ctrl-C: %v", open)
	}
}
