package hydra

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/internal/freeport"
)

// EnvBinary names the environment variable holding the Hydra binary's path,
// as printed by scripts/build-hydra.
const EnvBinary = "STEPUP_HYDRA"

// startTimeout bounds how long Start waits for Hydra to become ready
// (it normally takes well under a second: in-memory migrations).
const startTimeout = 30 * time.Second

// Options tunes a Hydra instance. The zero value is fine for most tests.
type Options struct {
	// Issuer overrides the issuer URL (urls.self.issuer). Defaults to
	// http://127.0.0.1:<public port>. Hydra also derives its public URL
	// from it: discovery advertises endpoints under it and Hydra redirects
	// browsers (including CodeFlow's) to it, so it must route to the
	// public port (e.g. through a proxy).
	Issuer string
	// AccessTokenTTL, IDTokenTTL and RefreshTokenTTL override Hydra's
	// token lifetimes (defaults 1h, 1h, 720h) for expiry tests.
	AccessTokenTTL, IDTokenTTL, RefreshTokenTTL time.Duration
	// LogLevel is Hydra's log level (default "info"; "debug", "trace" for
	// more detail in the log file).
	LogLevel string
}

// Server is a running Hydra plus the harness's login & consent app and a
// headless browser (cookie jar) for driving flows.
type Server struct {
	t       testing.TB
	bin     string
	dir     string
	logPath string
	cfgPath string
	cfg     hydraConfig
	app     *httptest.Server
	admin   *http.Client

	mu          sync.Mutex
	proc        *process
	onLogin     func(LoginRequest) LoginDecision
	interactive bool // the login is a sign-in page (see Interactive)
	logins      []LoginRequest
	sessions    map[string]Authentication // by Hydra login session id
	clients     []Client                  // re-registered by Restart
	jar         http.CookieJar
	kid         string // current signing key id
}

// Start runs a fresh Hydra for the test and stops it when the test ends.
// The binary comes from $STEPUP_HYDRA; without it the test fails (rather
// than skips) so a missing build is never mistaken for a pass.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	bin := os.Getenv(EnvBinary)
	if bin == "" {
		t.Fatalf("%s is not set: build Hydra with scripts/build-hydra (or run `make test`), "+
			"then run tests with %s=$(scripts/build-hydra | tail -1)", EnvBinary, EnvBinary)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s=%s: %v (rebuild with scripts/build-hydra)", EnvBinary, bin, err)
	}
	ports, err := freeport.Pick(2)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := &Server{
		t:        t,
		bin:      bin,
		dir:      dir,
		logPath:  filepath.Join(dir, "hydra.log"),
		admin:    &http.Client{Timeout: 10 * time.Second},
		sessions: map[string]Authentication{},
	}
	s.jar = newJar()
	s.app = httptest.NewServer(s.appHandler())

	issuer := opts.Issuer
	if issuer == "" {
		issuer = "http://127.0.0.1:" + strconv.Itoa(ports[0])
	}
	s.cfg = hydraConfig{
		issuer:     issuer,
		publicPort: ports[0],
		adminPort:  ports[1],
		appURL:     s.app.URL,
		secret:     randomHex(32),
		opts:       opts,
	}
	if s.cfgPath, err = s.cfg.write(dir); err != nil {
		s.app.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Stop()
		s.app.Close()
		if t.Failed() {
			t.Logf("hydra log %s (tail):\n%s", s.logPath, logTail(s.logPath, 60))
		}
	})
	s.launch()
	return s
}

// launch starts the Hydra process and waits until it is ready.
func (s *Server) launch() {
	s.t.Helper()
	start := time.Now()
	p, err := startProcess(s.bin, s.cfgPath, s.logPath)
	if err != nil {
		s.t.Fatal(err)
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := p.waitReady(ctx, s.AdminURL()+"/health/ready", s.PublicURL()+"/health/ready"); err != nil {
		s.Stop()
		s.t.Fatal(err) // the cleanup shows the log's tail
	}
	// Seed the signing keys before anything makes Hydra generate its own.
	if _, err := s.installSigningKey(); err != nil {
		s.Stop()
		s.t.Fatalf("hydra: install signing key: %v", err)
	}
	s.t.Logf("hydra ready in %v: issuer %s, admin %s", time.Since(start).Round(time.Millisecond), s.Issuer(), s.AdminURL())
}

// Stop kills Hydra (the login & consent app stays up), for IdP outage tests.
// It is idempotent and safe to call from cleanups.
func (s *Server) Stop() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil {
		p.stop()
	}
}

// Restart stops Hydra and starts a new process on the same ports and issuer.
// The database is in memory, so all state is lost: signing keys are new
// (new kid), and login sessions, consents, codes and tokens are gone
// (refresh tokens stop working). Clients created with CreateClient are
// registered again so the relying party keeps working.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	s.mu.Lock()
	s.sessions = map[string]Authentication{}
	clients := append([]Client(nil), s.clients...)
	s.clients = nil
	s.mu.Unlock()
	s.launch()
	for _, c := range clients {
		s.CreateClient(s.t, c)
	}
}

// Issuer is the OpenID Provider's issuer URL (what the plugin discovers).
func (s *Server) Issuer() string { return s.cfg.issuer }

// PublicURL is the base URL Hydra's public API listens on (loopback).
func (s *Server) PublicURL() string { return "http://127.0.0.1:" + strconv.Itoa(s.cfg.publicPort) }

// AdminURL is the base URL of Hydra's admin API (loopback, no auth).
func (s *Server) AdminURL() string { return "http://127.0.0.1:" + strconv.Itoa(s.cfg.adminPort) }

// LoginURL is the login app's login endpoint, where Hydra sends browsers
// to sign in (the sign-in page in interactive mode).
func (s *Server) LoginURL() string { return s.app.URL + "/login" }

// LogPath is Hydra's log file, for tests that want to inspect it.
func (s *Server) LogPath() string { return s.logPath }

// randomHex returns n random bytes hex-encoded (secrets, state, nonces).
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b)
}
