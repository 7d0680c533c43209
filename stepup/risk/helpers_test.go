package risk

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// maxmindDir is MaxMind's test databases, beside the repository (CI clones
// it with shared/ next to it, as /work has it).
const maxmindDir = "../../../shared/testdata/maxmind"

// maxmind returns the path of one of MaxMind's test databases, failing the
// test (not skipping it) when the shared test data is missing.
func maxmind(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(maxmindDir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("MaxMind test database missing: %v\n"+
			"the tests expect the shared test data beside the repository, at <repo>/../shared/testdata/maxmind/", err)
	}
	return p
}

// Addresses of MaxMind's test databases (see the .json beside each).
var (
	london    = netip.MustParseAddr("81.2.69.142")    // GB, 51.5142,-0.0931, radius 10 km; no ASN
	milton    = netip.MustParseAddr("216.160.83.56")  // US, 47.2513,-122.3149, radius 22 km; AS209
	sanDiego  = netip.MustParseAddr("214.78.120.1")   // US, 32.7405,-117.0935; AS721
	linkoping = netip.MustParseAddr("89.160.20.115")  // SE, 58.4167,15.6167; AS29518
	tokyo6    = netip.MustParseAddr("2001:218::1")    // JP (country centre)
	gb6       = netip.MustParseAddr("2a02:d3c0::1")   // GB (country centre)
	private   = netip.MustParseAddr("10.1.2.3")       // in no database
	sanDiego6 = netip.MustParseAddr("2001:480:10::1") // US, San Diego
)

// t0 is the tests' fixed "now".
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return t0 }

// newEngine builds an engine whose logs the test can read; the poller
// stops with the test.
func newEngine(t testing.TB, c *Config) (*Engine, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	e, err := New(ctx, c, zap.New(core), fixedNow)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	return e, logs
}

func evaluate(e *Engine, req Request) *Result {
	var out Result
	e.Evaluate(&req, &out)
	return &out
}

// copyFile copies a fixture into dir, returning the new path.
func copyFile(t testing.TB, src, dir string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// writeFile replaces path's content and moves its modification time on,
// as a new download would.
func writeFile(t testing.TB, path, content string, mod time.Time) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
}

// renameOver moves src over dst, as atomic updaters do.
func renameOver(src, dst string) error {
	return os.Rename(src, dst)
}
