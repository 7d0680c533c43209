package browser

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

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

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
