package risk

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddy-stepup/caddy-stepup/internal/mmdbtest"
)

// testDBs writes the generated MaxMind databases (internal/mmdbtest) into
// a new temporary directory: a test may replace or touch its files.
func testDBs(t testing.TB) mmdbtest.Paths {
	t.Helper()
	p, err := mmdbtest.WriteAll(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Addresses of the generated databases (see internal/mmdbtest/places.go).
var (
	london         = netip.MustParseAddr(mmdbtest.London)         // GB, 51.5142,-0.0931, radius 10 km; no ASN
	manchester     = netip.MustParseAddr(mmdbtest.Manchester)     // GB, 53.4808,-2.2426, radius 20 km; AS64496
	milton         = netip.MustParseAddr(mmdbtest.Milton)         // US, 47.2513,-122.3149, radius 22 km; AS64497
	sanDiego       = netip.MustParseAddr(mmdbtest.SanDiego)       // US, 32.7405,-117.0935, radius 5 km; AS64498
	linkoping      = netip.MustParseAddr(mmdbtest.Linkoping)      // SE, 58.4167,15.6167, radius 76 km; AS64499
	registeredOnly = netip.MustParseAddr(mmdbtest.RegisteredOnly) // registered_country US only; AS64503
	tokyo6         = netip.MustParseAddr(mmdbtest.Tokyo6)         // JP, Tokyo, radius 100 km; AS64504
	gb6            = netip.MustParseAddr(mmdbtest.GB6)            // GB (country centre, radius 1,000 km); no ASN
	private        = netip.MustParseAddr(mmdbtest.Unlisted)       // in no database
	sanDiego6      = netip.MustParseAddr(mmdbtest.SanDiego6)      // US, San Diego, as sanDiego
)

// t0 is the tests' fixed "now".
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return t0 }

// newEngine builds an engine whose logs the test can read; the poller
// stops with the test.
func newEngine(t testing.TB, c *Config) (*Engine, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zapcore.DebugLevel)
	ctx, cancel := context.WithCancel(context.Background())
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
