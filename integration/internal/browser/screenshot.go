package browser

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

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
