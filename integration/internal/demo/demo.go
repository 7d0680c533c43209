// Package demo builds examples/demo (`make demo`) and runs it for
// integration tests: on free loopback ports, with the Caddy binary under
// test ($STEPUP_CADDY), a throw-away data directory and a code file from
// which tests read the one-time codes the demo's IdP "sends".
package demo

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/internal/childproc"
	"github.com/caddy-stepup/caddy-stepup/internal/freeport"
)

// readyLine is what the demo prints once its site answers (examples/demo/banner.go).
const readyLine = "Demo ready: "

// Options tune the demo.
type Options struct {
	// TransferMaxAge is passed as --transfer-max-age; zero keeps the demo's default.
	TransferMaxAge time.Duration
}

// Demo is a running demo process.
type Demo struct {
	URL      string // https://localhost:<port>, no trailing slash
	Issuer   string // the demo IdP, http://127.0.0.1:<port>
	Backend  string // the sample app, http://127.0.0.1:<port>, reachable around Caddy
	DataDir  string
	CodeFile string

	t    testing.TB
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the process's exit, once done is closed
	out  *lockedBuffer
}

// Start builds and runs the demo and waits until its site answers. The demo
// is stopped when the test ends; StopCleanly checks that it exits well.
func Start(t testing.TB, o Options) *Demo {
	t.Helper()
	caddy := os.Getenv("STEPUP_CADDY")
	if caddy == "" {
		t.Fatal("STEPUP_CADDY is not set: build Caddy with scripts/build-caddy (or run `make test`)")
	}
	bin := build(t)
	dir := t.TempDir()
	ports := freeport.MustPick(3)
	d := &Demo{
		URL:      "https://localhost:" + strconv.Itoa(ports[0]),
		Issuer:   "http://127.0.0.1:" + strconv.Itoa(ports[1]),
		Backend:  "http://127.0.0.1:" + strconv.Itoa(ports[2]),
		DataDir:  filepath.Join(dir, "data"),
		CodeFile: filepath.Join(dir, "code"),
		t:        t,
		out:      new(lockedBuffer),
		done:     make(chan struct{}),
	}
	args := []string{
		"--caddy", caddy,
		"--port", strconv.Itoa(ports[0]),
		"--idp-port", strconv.Itoa(ports[1]),
		"--backend-port", strconv.Itoa(ports[2]),
		"--data-dir", d.DataDir,
		"--code-file", d.CodeFile,
	}
	if o.TransferMaxAge > 0 {
		args = append(args, "--transfer-max-age", o.TransferMaxAge.String())
	}
	d.cmd = exec.Command(bin, args...)
	d.cmd.Dir = dir
	d.cmd.Stdout, d.cmd.Stderr = d.out, d.out
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := d.cmd.Start(); err != nil {
		t.Fatalf("starting the demo: %v", err)
	}
	go func() { d.err = d.cmd.Wait(); close(d.done) }()
	t.Cleanup(d.cleanup)
	if err := d.waitFor(readyLine, 90*time.Second); err != nil {
		t.Fatalf("the demo did not become ready: %v\n%s", err, d.Logs())
	}
	return d
}

// build compiles examples/demo into a temporary directory; Go's build cache
// makes every build after the first quick.
func build(t testing.TB) string {
	t.Helper()
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "demo")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = filepath.Join(root, "examples", "demo")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build in %s: %v\n%s", cmd.Dir, err, out)
	}
	return bin
}

// repoRoot is the nearest directory above the working directory holding xcaddy.json.
func repoRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "xcaddy.json")); err == nil {
			return dir, nil
		}
		if dir == filepath.Dir(dir) {
			return "", fmt.Errorf("no xcaddy.json above %s: run the tests inside the repository", wd)
		}
	}
}

func (d *Demo) waitFor(substr string, limit time.Duration) error {
	deadline := time.After(limit)
	for !strings.Contains(d.Logs(), substr) {
		select {
		case <-d.done:
			return fmt.Errorf("the demo exited: %v", d.err)
		case <-deadline:
			return fmt.Errorf("no %q after %s", substr, limit)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// Logs returns everything the demo printed so far: its banner and the
// prefixed lines of Caddy ("caddy |"), the IdP ("idp   |") and the app ("app   |").
func (d *Demo) Logs() string { return d.out.String() }

// Count counts the lines of the log that contain substr.
func (d *Demo) Count(substr string) int {
	n := 0
	for _, l := range strings.Split(d.Logs(), "\n") {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

var sixDigits = regexp.MustCompile(`^[0-9]{6}$`)

// TakeCode waits for the IdP to "send" a one-time code, returns it and
// removes the file, so the next call waits for the next code.
func (d *Demo) TakeCode(t testing.TB) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, err := os.ReadFile(d.CodeFile)
		if err == nil {
			code := strings.TrimSpace(string(b))
			if !sixDigits.MatchString(code) {
				t.Fatalf("code file holds %q, not six digits", code)
			}
			if err := os.Remove(d.CodeFile); err != nil {
				t.Fatal(err)
			}
			return code
		}
		if time.Now().After(deadline) {
			t.Fatalf("no one-time code in %s after 30s: %v", d.CodeFile, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// RootCA is the certificate of Caddy's local CA in the demo's data directory.
func (d *Demo) RootCA() string {
	return filepath.Join(d.DataDir, "caddy", "pki", "authorities", "local", "root.crt")
}

// Client is an HTTP client that trusts only the demo's CA and does not follow redirects.
func (d *Demo) Client(t testing.TB) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(d.RootCA())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", d.RootCA())
	}
	return &http.Client{
		Timeout:       20 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// StopCleanly sends SIGTERM, as Ctrl-C would, and fails the test unless the
// demo stops Caddy and its servers and exits 0 in time.
func (d *Demo) StopCleanly(t testing.TB) {
	t.Helper()
	if err := d.stop(20 * time.Second); err != nil {
		t.Errorf("stopping the demo: %v", err)
		return
	}
	if d.err != nil {
		t.Errorf("the demo exited with %v, want 0", d.err)
	}
	if !strings.Contains(d.Logs(), "shutdown complete") || !strings.HasSuffix(strings.TrimSpace(d.Logs()), "Stopped.") {
		t.Errorf("the demo did not report Caddy's shutdown and its own:\n%s", tail(d.Logs(), 15))
	}
}

func (d *Demo) stop(grace time.Duration) error {
	if childproc.Stop(d.cmd.Process, d.done, grace) {
		return fmt.Errorf("no exit %s after SIGTERM; killed", grace)
	}
	return nil
}

func (d *Demo) cleanup() {
	_ = d.stop(20 * time.Second)
	if d.t.Failed() {
		d.t.Logf("demo output (tail):\n%s", tail(d.Logs(), 80))
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
