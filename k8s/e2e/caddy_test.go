package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/internal/childproc"
	"github.com/caddy-stepup/caddy-stepup/internal/freeport"
)

// caddyProc is the Caddy binary serving one config on loopback.
type caddyProc struct {
	addr string // host:port it listens on
	cmd  *exec.Cmd
	log  string
}

// startCaddy runs `caddy run` with config (built for listen address addr)
// and extra environment, until the test ends.
func startCaddy(t *testing.T, name, addr string, config []byte, env ...string) *caddyProc {
	t.Helper()
	return startCaddyBin(t, caddyBin, name, addr, config, env...)
}

// startCaddyBin is startCaddy with another Caddy binary.
func startCaddyBin(t *testing.T, bin, name, addr string, config []byte, env ...string) *caddyProc {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "caddy.json")
	if err := os.WriteFile(file, config, 0o600); err != nil {
		t.Fatal(err)
	}
	p := &caddyProc{addr: addr, log: filepath.Join(dir, "caddy.log")}
	logFile, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(bin, "run", "--config", file)
	p.cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_DATA_HOME="+filepath.Join(dir, "data"))
	p.cmd.Env = append(p.cmd.Env, env...)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = p.cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		childproc.Stop(p.cmd.Process, exited, 10*time.Second)
		if t.Failed() {
			b, _ := os.ReadFile(p.log)
			t.Logf("caddy %s log:\n%s", name, tail(string(b), 4000))
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-exited:
			b, _ := os.ReadFile(p.log)
			t.Fatalf("caddy %s exited at start (%v):\n%s", name, waitErr, tail(string(b), 4000))
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy %s does not listen on %s after 20s", name, addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// caddyValidate runs `caddy validate` on config: it provisions every module
// (the stepup handler included) without serving.
func caddyValidate(t *testing.T, config []byte) error {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "caddy.json")
	if err := os.WriteFile(file, config, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(caddyBin, "validate", "--config", file)
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_DATA_HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, tail(string(out), 2000))
	}
	return nil
}

func loopbackAddr() string { return freeport.Addr() }

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[strings.IndexByte(s[len(s)-n:], '\n')+len(s)-n+1:]
}
