// Package caddyproc runs the Caddy binary built with our plugin as its own
// process, on loopback ports, with HTTPS from Caddy's local CA, for
// integration tests.
package caddyproc

import (
	"bytes"

	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/internal/childproc"
	"github.com/caddy-stepup/caddy-stepup/internal/freeport"
)

// EnvBinary names the environment variable with the Caddy binary's path
// (bin/caddy from scripts/build-caddy; `make test` sets it).
const EnvBinary = "STEPUP_CADDY"

// Options describe one Caddy process.
type Options struct {
	// Site is the body of the https://localhost:<port> site block.
	Site string
	// StorageDir is Caddy's storage (certificates, local CA, stepup keys).
	// Two processes given the same directory share keys. Default: a new
	// temporary directory.
	StorageDir string
	// Env adds environment variables, e.g. a client secret for {env.…}.
	Env []string
	// Global adds lines to the global options block, e.g. `servers {
	// trusted_proxies static 127.0.0.1/32 }`.
	Global string
	// Extra adds top-level blocks after the site, e.g. a plain-HTTP site
	// `http://:<port> { ... }` (see ReservePort).
	Extra string
}

// Caddy is a running Caddy process.
type Caddy struct {
	t         testing.TB
	opts      Options
	dir       string
	bin       string
	httpsPort int
	adminPort int
	httpPort  int
	cmd       *exec.Cmd
	done      chan struct{}
	mu        sync.Mutex
	logs      *bytes.Buffer
}

// Binary is the path of the Caddy binary under test, $STEPUP_CADDY. Without
// it the test fails rather than skips.
func Binary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv(EnvBinary)
	if bin == "" {
		t.Fatalf("%s is not set: build Caddy with scripts/build-caddy (or run `make test`)", EnvBinary)
	}
	return bin
}

// Start runs Caddy with opts and stops it when the test ends.
func Start(t testing.TB, opts Options) *Caddy {
	t.Helper()
	c := &Caddy{t: t, opts: opts, bin: Binary(t), dir: t.TempDir(), logs: new(bytes.Buffer)}
	if c.opts.StorageDir == "" {
		c.opts.StorageDir = filepath.Join(c.dir, "storage")
	}
	ports := freeport.MustPick(3)
	c.httpsPort, c.httpPort, c.adminPort = ports[0], ports[1], ports[2]
	c.start()
	t.Cleanup(c.Stop)
	return c
}

// ReservePort returns a free loopback port, for tests that must know a
// site's address (an IdP redirect URI) before Caddy starts.
func ReservePort(t testing.TB) int { return freeport.Port() }

func (c *Caddy) configPath() string { return filepath.Join(c.dir, "Caddyfile") }

func (c *Caddy) caddyfile(site string) string {
	return fmt.Sprintf(`{
	admin 127.0.0.1:%d
	storage file_system %s
	http_port %d
	https_port %d
	local_certs
	skip_install_trust
	persist_config off
	log {
		output stderr
		format json
		level DEBUG
	}
%s
}

https://localhost:%d {
%s
}
%s
`, c.adminPort, c.opts.StorageDir, c.httpPort, c.httpsPort, c.opts.Global, c.httpsPort, site, c.opts.Extra)
}

func (c *Caddy) start() {
	t := c.t
	t.Helper()
	if err := os.WriteFile(c.configPath(), []byte(c.caddyfile(c.opts.Site)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(c.bin, "run", "--config", c.configPath(), "--adapter", "caddyfile")
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "HOME="+c.dir, "XDG_DATA_HOME="+filepath.Join(c.dir, "data"), "XDG_CONFIG_HOME="+filepath.Join(c.dir, "config"))
	cmd.Env = append(cmd.Env, c.opts.Env...)
	cmd.Stdout = lockedWriter{&c.mu, c.logs}
	cmd.Stderr = lockedWriter{&c.mu, c.logs}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting caddy: %v", err)
	}
	c.cmd, c.done = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(c.done) }()
	if err := c.waitReady(30 * time.Second); err != nil {
		c.Stop()
		t.Fatalf("caddy did not become ready: %v\n%s", err, c.Logs())
	}
}

// waitReady polls until the site answers over TLS with our local CA.
func (c *Caddy) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-c.done:
			return fmt.Errorf("caddy exited")
		default:
		}
		if pool, err := c.rootPool(); err == nil {
			client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
			resp, err := client.Get(c.URL() + "/.stepup-readiness-probe")
			if err == nil {
				resp.Body.Close()
				client.CloseIdleConnections()
				return nil
			}
			last = err
		} else {
			last = err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return last
}

func (c *Caddy) rootPool() (*x509.CertPool, error) {
	pem, err := os.ReadFile(filepath.Join(c.opts.StorageDir, "pki", "authorities", "local", "root.crt"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in local CA root")
	}
	return pool, nil
}

// URL is the site's origin, https://localhost:<port>.
func (c *Caddy) URL() string { return "https://localhost:" + strconv.Itoa(c.httpsPort) }

// Site is the site body the process runs now.
func (c *Caddy) Site() string { return c.opts.Site }

// Port is the site's HTTPS port.
func (c *Caddy) Port() int { return c.httpsPort }

// StorageDir is where this Caddy keeps its storage.
func (c *Caddy) StorageDir() string { return c.opts.StorageDir }

// Client returns an HTTP client that trusts Caddy's local CA, keeps
// cookies, and does not follow redirects (tests follow them explicitly).
func (c *Caddy) Client() *http.Client {
	c.t.Helper()
	pool, err := c.rootPool()
	if err != nil {
		c.t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	return &http.Client{
		Jar:     jar,
		Timeout: 20 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Reload applies a new site body through the admin API, as `caddy reload` does.
func (c *Caddy) Reload(site string) {
	c.t.Helper()
	c.opts.Site = site
	if err := os.WriteFile(c.configPath(), []byte(c.caddyfile(site)), 0o600); err != nil {
		c.t.Fatal(err)
	}
	out, err := exec.Command(c.bin, "reload", "--config", c.configPath(), "--adapter", "caddyfile",
		"--address", "127.0.0.1:"+strconv.Itoa(c.adminPort), "--force").CombinedOutput()
	if err != nil {
		c.t.Fatalf("caddy reload: %v\n%s", err, out)
	}
}

// Logs returns everything Caddy has written so far.
func (c *Caddy) Logs() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.logs.String()
}

// Stop ends the process; it is safe to call twice.
func (c *Caddy) Stop() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	select {
	case <-c.done:
		return
	default:
	}
	childproc.Stop(c.cmd.Process, c.done, 10*time.Second)
	if c.t.Failed() {
		c.t.Logf("caddy log (tail):\n%s", tail(c.Logs(), 60))
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
