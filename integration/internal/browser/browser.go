// Package browser drives a real headless Chromium for caddy-stepup's
// integration tests, through the DevTools protocol (chromedp).
//
// Each [New] starts its own Chromium process with a fresh, throw-away
// profile, so cookies and sessions never leak between tests. The browser is
// bounded by a per-test timeout and is shut down by t.Cleanup. When the test
// has failed by then, a last screenshot ("failure") is saved and the tail of
// Chromium's own output is logged.
//
// Chromium is Debian's /usr/bin/chromium (installed by scripts/install-deps),
// or the binary named by STEPUP_CHROMIUM. It runs as root with --no-sandbox
// and --ignore-certificate-errors, since the tests serve https://localhost
// with Caddy's internal CA.
//
// Screenshots go to ${STEPUP_ARTIFACTS:-<repo>/artifacts}/<TestName>/<n>-<name>.png.
//
// Methods that take no testing.TB report errors with t.Fatal on the test
// given to New, so call them from the test's goroutine.
package browser

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// DefaultChromium is the Chromium binary used when STEPUP_CHROMIUM is unset.
const DefaultChromium = "/usr/bin/chromium"

// DefaultTimeout bounds the life of one Browser unless WithTimeout or
// STEPUP_BROWSER_TIMEOUT (a Go duration) says otherwise. It is also capped by
// the deadline of `go test -timeout`.
const DefaultTimeout = 2 * time.Minute

// DefaultWaitTimeout bounds one WaitURL or WaitText.
const DefaultWaitTimeout = 30 * time.Second

// ChromiumPath returns the Chromium binary the tests use.
func ChromiumPath() string {
	if p := os.Getenv("STEPUP_CHROMIUM"); p != "" {
		return p
	}
	return DefaultChromium
}

// Browser is one headless Chromium with one tab.
type Browser struct {
	t           testing.TB
	timeout     time.Duration
	waitTimeout time.Duration
	ctx         context.Context // the tab; done when the timeout passes
	cancels     []context.CancelFunc
	output      *tailBuffer

	mu      sync.Mutex
	closed  bool
	console []string
}

// New starts Chromium for the test t and returns its browser. It fails the
// test if Chromium is missing or does not start.
func New(t testing.TB, opts ...Option) *Browser {
	t.Helper()
	cfg := config{timeout: DefaultTimeout, waitTimeout: DefaultWaitTimeout, width: 1280, height: 900}
	if s := os.Getenv("STEPUP_BROWSER_TIMEOUT"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("browser: bad STEPUP_BROWSER_TIMEOUT %q: %v", s, err)
		}
		cfg.timeout = d
	}
	for _, o := range opts {
		o(&cfg)
	}
	timeout := cfg.timeout
	if dl, ok := deadline(t); ok {
		// Leave go test a few seconds to report, rather than panic.
		if left := time.Until(dl) - 5*time.Second; left < timeout {
			timeout = max(left, time.Second)
		}
	}

	path := ChromiumPath()
	if fi, err := os.Stat(path); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		if err == nil {
			err = errors.New("not an executable file")
		}
		t.Fatalf("browser: Chromium not found at %s (%v): run scripts/install-deps as root, or set STEPUP_CHROMIUM", path, err)
	}

	b := &Browser{t: t, timeout: timeout, waitTimeout: cfg.waitTimeout, output: &tailBuffer{max: 32 << 10}}
	allocOpts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-breakpad", true),
		chromedp.Flag("disable-crash-reporter", true),
		chromedp.Flag("disable-dev-shm-usage", true), // /dev/shm is small in containers
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.WindowSize(cfg.width, cfg.height),
		chromedp.CombinedOutput(b.output),
		// No UserDataDir: chromedp then makes a fresh profile directory per
		// browser and, after Chromium exits, kills leftover helper processes
		// and removes the directory with retries. A profile in t.TempDir()
		// would race those helpers and fail the TempDir cleanup.
	}
	for _, f := range cfg.flags {
		allocOpts = append(allocOpts, chromedp.Flag(f[0].(string), f[1]))
	}

	base, cancelBase := context.WithTimeout(context.Background(), timeout)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(base, allocOpts...)
	ctx, cancelTab := chromedp.NewContext(allocCtx,
		chromedp.WithLogf(b.logf),
		chromedp.WithErrorf(b.logf),
	)
	b.ctx = ctx
	// Called in reverse: close the tab and browser, then the allocator
	// (which waits for the process and removes the profile).
	b.cancels = []context.CancelFunc{cancelBase, cancelAlloc, cancelTab}
	t.Cleanup(b.close)

	start := time.Now()
	if err := chromedp.Do(ctx); err != nil { // starts the browser, opens the tab
		t.Fatalf("browser: starting %s: %v\nChromium output:\n%s", path, err, b.outputTail(40))
	}
	go b.readConsole(chromedp.Console(ctx))
	t.Logf("browser: %s started in %v (timeout %v)", path, time.Since(start).Round(time.Millisecond), timeout)
	return b
}

// NewTab opens another tab of the same browser: it shares the profile, so
// cookies, with b, and is closed before it (a test's later cleanups run
// first).
func (b *Browser) NewTab() *Browser {
	b.t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	tab := &Browser{t: b.t, timeout: b.timeout, waitTimeout: b.waitTimeout, ctx: ctx, cancels: []context.CancelFunc{cancel}, output: b.output}
	b.t.Cleanup(tab.close)
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		b.t.Fatalf("browser: opening a tab: %v", b.explain(err))
	}
	go tab.readConsole(chromedp.Console(ctx))
	return tab
}

func deadline(t testing.TB) (time.Time, bool) {
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		return d.Deadline()
	}
	return time.Time{}, false
}

// logf logs to the test until it has finished; chromedp's goroutines may
// still talk after that, and t.Logf would then panic.
func (b *Browser) logf(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.t.Logf(format, args...)
	}
}

func (b *Browser) close() {
	if b.t.Failed() && b.ctx.Err() == nil {
		b.screenshot(b.t, "failure", b.t.Logf)
	}
	if b.t.Failed() {
		if out := b.outputTail(40); out != "" {
			b.t.Logf("browser: Chromium output (tail):\n%s", out)
		}
	}
	for i := len(b.cancels) - 1; i >= 0; i-- {
		b.cancels[i]()
	}
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
}
