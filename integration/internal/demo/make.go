package demo

import (
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/internal/freeport"
)

// MakeDemoRun is `make demo` run the way a person runs it: on a terminal
// (script(1) gives it one), stopped with the terminal's Ctrl-C.
type MakeDemoRun struct {
	Ready    time.Duration // from the command to the demo's ready line
	ExitCode int           // make's exit status after Ctrl-C
	Ports    []int         // the demo's fixed ports (site, IdP, app)
	Output   string
}

// RunMakeDemoAndPressCtrlC runs `make demo` at the repository root on free
// ports, waits for the ready line, types Ctrl-C and waits for make to exit.
func RunMakeDemoAndPressCtrlC(t testing.TB) MakeDemoRun {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ports := freeport.MustPick(3)
	flags := "--port " + strconv.Itoa(ports[0]) + " --idp-port " + strconv.Itoa(ports[1]) +
		" --backend-port " + strconv.Itoa(ports[2]) + " --data-dir " + t.TempDir()
	cmd := exec.Command("script", "-qfec", "make demo DEMO_FLAGS='"+flags+"'", "/dev/null")
	cmd.Dir = root
	out := new(lockedBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("script(1) (util-linux) is needed to give make a terminal: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	run := MakeDemoRun{Ports: ports}
	deadline := time.After(20 * time.Minute) // a cold Caddy build on 2 shared cores
	for !strings.Contains(out.String(), readyLine) {
		select {
		case err := <-done:
			t.Fatalf("make demo exited before it was ready: %v\n%s", err, tail(out.String(), 40))
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("make demo not ready after 20 minutes:\n%s", tail(out.String(), 40))
		case <-time.After(100 * time.Millisecond):
		}
	}
	run.Ready = time.Since(start)
	_, _ = io.WriteString(stdin, "\x03") // the terminal's Ctrl-C
	select {
	case err := <-done:
		run.ExitCode = 0
		if ee, ok := err.(*exec.ExitError); ok {
			run.ExitCode = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("make demo still running 30 s after Ctrl-C:\n%s", tail(out.String(), 40))
	}
	run.Output = out.String()
	return run
}

// Listening reports which of ports still accept connections on loopback.
func Listening(ports []int) []int {
	var open []int
	for _, p := range ports {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p), time.Second)
		if err == nil {
			c.Close()
			open = append(open, p)
		}
	}
	return open
}
