package browser

import (
	"context"
	"errors"
	"fmt"

	"github.com/chromedp/chromedp"
)

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
