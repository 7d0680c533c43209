package childproc

import (
	"bufio"
	"os"
	"os/exec"
	"testing"
	"time"
)

// start runs sh -c script, waits for the script's first line of output
// (its setup done), and returns it with the channel closed when its Wait
// returns.
func start(t *testing.T, script string) (*exec.Cmd, chan struct{}) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command("sh", "-c", script)
	cmd.Stdout = w
	err = cmd.Start()
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	if _, err := bufio.NewReader(r).ReadString('\n'); err != nil {
		t.Fatalf("sh -c %q: %v", script, err)
	}
	return cmd, done
}

func TestStopAsksFirstAndKillsOnlyAProcessThatStays(t *testing.T) {
	t.Run("a process that exits on SIGTERM is not killed", func(t *testing.T) {
		cmd, done := start(t, "echo ready; exec sleep 60")
		if Stop(cmd.Process, done, time.Minute) {
			t.Fatal("killed, want stopped by SIGTERM within the grace")
		}
		if ws := cmd.ProcessState.String(); ws != "signal: terminated" {
			t.Fatalf("the process ended with %q, want signal: terminated", ws)
		}
	})
	t.Run("a process that ignores SIGTERM is killed after the grace", func(t *testing.T) {
		cmd, done := start(t, `trap "" TERM; echo ready; exec sleep 60`)
		if !Stop(cmd.Process, done, 200*time.Millisecond) {
			t.Fatal("not killed, want killed once the grace ran out")
		}
		if ws := cmd.ProcessState.String(); ws != "signal: killed" {
			t.Fatalf("the process ended with %q, want signal: killed", ws)
		}
	})
	t.Run("a process that already exited is left alone", func(t *testing.T) {
		cmd, done := start(t, "echo ready; exit 3")
		<-done
		if Stop(cmd.Process, done, time.Minute) {
			t.Fatal("killed a process that had exited")
		}
	})
}
