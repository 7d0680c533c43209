package browser

import (
	"fmt"
	"iter"
	"strings"

	"github.com/chromedp/chromedp"
)

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

// Console returns what the page has written to its console so far (console
// API calls, uncaught exceptions, browser log entries), one line each.
func (b *Browser) Console() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.console...)
}
