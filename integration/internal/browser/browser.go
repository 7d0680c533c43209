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
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"regexp"
	"strings"
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

// Option configures New.
type Option func(*config)

type config struct {
	timeout       time.Duration
	waitTimeout   time.Duration
	width, height int
	flags         [][2]any
}

// WithTimeout sets how long the browser may live before it is killed.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithWaitTimeout sets how long WaitURL and WaitText wait (default
// DefaultWaitTimeout). It is shorter than the browser's own timeout so that a
// failed wait still leaves a live browser for the failure screenshot.
func WithWaitTimeout(d time.Duration) Option { return func(c *config) { c.waitTimeout = d } }

// WithWindowSize sets the size of the window (and so of screenshots).
func WithWindowSize(width, height int) Option {
	return func(c *config) { c.width, c.height = width, height }
}

// WithFlag adds or overrides a Chromium command-line flag: a bool true for
// --name, false to drop a default flag, or a string for --name=value.
func WithFlag(name string, value any) Option {
	return func(c *config) { c.flags = append(c.flags, [2]any{name, value}) }
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

func (b *Browser) readConsole(msgs iter.Seq2[chromedp.ConsoleMessage, error]) {
	for m, err := range msgs {
		if err != nil {
			return
		}
		if strings.HasSuffix(m.URL, "/favicon.ico") {
			continue // every page asks for it; the 404 is noise
		}
		s := m.String()
		if m.URL != "" {
			s += fmt.Sprintf(" (%s:%d)", m.URL, m.Line+1)
		}
		b.mu.Lock()
		b.console = append(b.console, s)
		b.mu.Unlock()
		b.logf("browser console: %s", s)
	}
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

// outputTail returns the last n lines of Chromium's output, without the
// D-Bus complaints every headless Chromium makes in a container.
func (b *Browser) outputTail(n int) string {
	var keep []string
	for _, l := range strings.Split(b.output.String(), "\n") {
		if strings.TrimSpace(l) != "" && !strings.Contains(l, ":ERROR:dbus/") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep[max(0, len(keep)-n):], "\n")
}

// Context returns the chromedp context of the tab, for chromedp calls this
// package does not wrap (chromedp.Run, chromedp.Events, chromedp.Call...).
func (b *Browser) Context() context.Context { return b.ctx }

// Run runs the actions in order in the tab, and fails the test on error.
func (b *Browser) Run(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("browser: %v", b.explain(err))
	}
}

// Get runs one action that returns a value, and fails the test on error.
func Get[T any](b *Browser, action chromedp.Action[T]) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, action)
	if err != nil {
		b.t.Fatalf("browser: %v", b.explain(err))
	}
	return v
}

func (b *Browser) explain(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(b.ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w (the browser's per-test timeout of %v has passed; see WithTimeout, STEPUP_BROWSER_TIMEOUT)", err, b.timeout)
	}
	return err
}

// Navigate loads url and waits for its load event.
func (b *Browser) Navigate(url string) {
	b.t.Helper()
	b.Run(chromedp.Navigate(url))
}

// URL returns the address of the current page.
func (b *Browser) URL() string {
	b.t.Helper()
	return Get(b, chromedp.Location())
}

// Title returns the title of the current page.
func (b *Browser) Title() string {
	b.t.Helper()
	return Get(b, chromedp.Title())
}

const bodyText = `document.body ? document.body.innerText : ""`

// Text returns the visible text of the current page (document.body.innerText).
func (b *Browser) Text() string {
	b.t.Helper()
	return Get(b, chromedp.Evaluate[string](bodyText))
}

// TextOf returns the visible text of the first element matching the CSS
// selector, waiting for it to appear.
func (b *Browser) TextOf(selector string) string {
	b.t.Helper()
	return Get(b, chromedp.Text(chromedp.CSS(selector)))
}

// Click clicks the first element matching the CSS selector, once it is
// visible. A click that navigates returns before the new page loads: follow
// it with WaitURL or WaitText.
func (b *Browser) Click(selector string) {
	b.t.Helper()
	b.Run(chromedp.Click(chromedp.CSS(selector), chromedp.NodeVisible))
}

// Type types text into the first element matching the CSS selector.
func (b *Browser) Type(selector, text string) {
	b.t.Helper()
	b.Run(chromedp.SendKeys(chromedp.CSS(selector), text, chromedp.NodeVisible))
}

// Fill replaces the value of the first element matching the CSS selector
// with text, typed as keys. Type appends to what a page prefilled (a login
// form that keeps the username after a wrong password); Fill does not.
func (b *Browser) Fill(selector, text string) {
	b.t.Helper()
	b.Run(chromedp.Clear(chromedp.CSS(selector), chromedp.NodeVisible),
		chromedp.SendKeys(chromedp.CSS(selector), text, chromedp.NodeVisible))
}

// WaitTrue waits until the JavaScript expression js is true on the current
// page. Errors while a navigation replaces the page count as "not yet".
// what describes the expectation in the failure message.
func (b *Browser) WaitTrue(what, js string) {
	b.t.Helper()
	poll(b, chromedp.Evaluate[bool](js), func(ok bool) bool { return ok }, func(_ bool, lastErr, err error) {
		b.t.Helper()
		b.t.Fatalf("browser: waiting for %s: last error %v: %v", what, lastErr, err)
	})
}

// poll runs query until done accepts its result, and returns that result.
// Errors count as "not yet" (a navigation may be replacing the page). When
// the wait times out, fail gets the last result, the last error and why the
// wait ended; it must stop the test.
func poll[T any](b *Browser, query chromedp.Action[T], done func(T) bool, fail func(last T, lastErr, err error)) T {
	b.t.Helper()
	var last T
	var lastErr error
	ctx, cancel := context.WithTimeout(b.ctx, b.waitTimeout)
	defer cancel()
	for {
		v, err := chromedp.Run(ctx, query)
		if err == nil {
			last = v
			if done(v) {
				return v
			}
		} else {
			lastErr = err
		}
		if err := sleep(ctx); err != nil {
			fail(last, lastErr, b.explainWait(err))
			return last
		}
	}
}

// pollInterval is how often the Wait helpers look again.
const pollInterval = 100 * time.Millisecond

// WaitURL waits until the address of the current page satisfies match, and
// returns it. It polls from Go, so it follows redirects and navigations
// across origins. what describes the expectation in the failure message.
func (b *Browser) WaitURL(what string, match func(url string) bool) string {
	b.t.Helper()
	return poll(b, chromedp.Location(), match, func(last string, lastErr, err error) {
		b.t.Helper()
		b.t.Fatalf("browser: waiting for URL %s: last URL %q, last error %v: %v", what, last, lastErr, err)
	})
}

// WaitURLPrefix waits until the address of the current page starts with
// prefix, and returns it.
func (b *Browser) WaitURLPrefix(prefix string) string {
	b.t.Helper()
	return b.WaitURL("with prefix "+prefix, func(u string) bool { return strings.HasPrefix(u, prefix) })
}

// WaitText waits until the visible text of the page contains substr, and
// returns that text.
func (b *Browser) WaitText(substr string) string {
	b.t.Helper()
	return poll(b, chromedp.Evaluate[string](bodyText), func(s string) bool { return strings.Contains(s, substr) }, func(last string, lastErr, err error) {
		b.t.Helper()
		b.t.Fatalf("browser: waiting for text %q: last text %q, last error %v: %v", substr, clip(last, 2000), lastErr, err)
	})
}

func (b *Browser) explainWait(err error) error {
	if b.ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("gave up after %v (see WithWaitTimeout)", b.waitTimeout)
	}
	return b.explain(err)
}

func sleep(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(pollInterval):
		return nil
	}
}

// Console returns what the page has written to its console so far (console
// API calls, uncaught exceptions, browser log entries), one line each.
func (b *Browser) Console() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.console...)
}

// Screenshot saves a PNG of the whole page as
// <artifacts>/<t.Name()>/<n>-<name>.png, logs its path and returns it. n
// counts the screenshots of the test, from 1. A failure to take one is a test
// error, not fatal.
func (b *Browser) Screenshot(t testing.TB, name string) string {
	t.Helper()
	return b.screenshot(t, name, t.Errorf)
}

func (b *Browser) screenshot(t testing.TB, name string, report func(string, ...any)) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 15*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // quality 100: PNG
	if err != nil {
		report("browser: screenshot %q: %v", name, b.explain(err))
		return ""
	}
	path, err := nextArtifact(t.Name(), name, ".png")
	if err == nil {
		err = os.WriteFile(path, png, 0o644)
	}
	if err != nil {
		report("browser: saving screenshot %q: %v", name, err)
		return ""
	}
	t.Logf("browser: screenshot %s", path)
	return path
}

// ArtifactsDir returns ${STEPUP_ARTIFACTS:-<repo>/artifacts}, where <repo> is
// the nearest directory above the working directory that holds xcaddy.json
// (or .git).
func ArtifactsDir() string {
	if d := os.Getenv("STEPUP_ARTIFACTS"); d != "" {
		if abs, err := filepath.Abs(d); err == nil {
			return abs
		}
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return "artifacts"
	}
	for _, marker := range []string{"xcaddy.json", ".git"} {
		for dir := wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, marker)); err == nil {
				return filepath.Join(dir, "artifacts")
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return filepath.Join(wd, "artifacts")
}

var (
	artifactsMu   sync.Mutex
	artifactCount = map[string]int{} // test dir -> files made by this process
	unsafeChars   = regexp.MustCompile(`[^A-Za-z0-9._-]+`)
)

// nextArtifact returns <artifacts>/<test>/<n>-<name><ext>, numbering the
// files of each test from 1. The first call for a test in this process
// empties its directory, so files of an earlier run do not mix in.
func nextArtifact(test, name, ext string) (string, error) {
	parts := strings.Split(test, "/") // subtests become subdirectories
	for i, p := range parts {
		parts[i] = sanitize(p)
	}
	dir := filepath.Join(append([]string{ArtifactsDir()}, parts...)...)

	artifactsMu.Lock()
	defer artifactsMu.Unlock()
	n, seen := artifactCount[dir]
	if !seen {
		if err := removeFiles(dir); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	n++
	artifactCount[dir] = n
	return filepath.Join(dir, fmt.Sprintf("%d-%s%s", n, sanitize(name), ext)), nil
}

// removeFiles removes the files directly in dir, keeping subdirectories
// (which belong to subtests).
func removeFiles(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

func sanitize(s string) string {
	s = unsafeChars.ReplaceAllString(s, "_")
	s = strings.Trim(s, "._")
	if s == "" {
		return "_"
	}
	return s
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (w *tailBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if over := len(w.buf) - w.max; over > 0 {
		w.buf = append(w.buf[:0], w.buf[over:]...)
	}
	return len(p), nil
}

func (w *tailBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}
