package hydra

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"time"

	"github.com/caddy-stepup/caddy-stepup/internal/childproc"
)

// process is one running `hydra serve all`. Its output is appended to a log
// file rather than the test's output because Hydra is chatty; the tail is
// shown only when a test fails.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // exit status, valid once done is closed
}

// startProcess runs Hydra with the given config file. --dev allows the plain
// HTTP loopback issuer; --sqa-opt-out stops telemetry calls off the machine.
func startProcess(bin, configPath, logPath string) (*process, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open hydra log: %w", err)
	}
	fmt.Fprintf(logFile, "==== %s: starting %s serve all --dev\n", time.Now().Format(time.RFC3339Nano), bin)
	cmd := exec.Command(bin, "serve", "all", "--dev", "--sqa-opt-out", "--config", configPath)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Only what Hydra needs: no proxies or config from the developer's
	// environment may leak in (Hydra reads config keys from env vars too).
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start hydra %s: %w", bin, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	return p, nil
}

// stop asks Hydra to shut down gracefully and kills it if it has not exited
// within a few seconds, so a test never waits long nor leaves it behind.
func (p *process) stop() {
	childproc.Stop(p.cmd.Process, p.done, 5*time.Second)
}

// waitReady polls Hydra's readiness endpoints (which check the database)
// until both answer 200, the process dies, or the timeout passes.
func (p *process) waitReady(ctx context.Context, urls ...string) error {
	client := &http.Client{Timeout: time.Second}
	pending := append([]string(nil), urls...)
	for len(pending) > 0 {
		resp, err := client.Get(pending[0])
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				pending = pending[1:]
				continue
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("hydra exited before becoming ready: %v", p.err)
		case <-ctx.Done():
			return fmt.Errorf("hydra not ready at %s: %w (last error: %v)", pending[0], ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// logTail returns the last n lines of a log file, for failure reports.
func logTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "(no hydra log)"
		}
		return fmt.Sprintf("(read hydra log: %v)", err)
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
