package browser_test

import (
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/browser"
)

const page = `<!doctype html>
<html><head><title>browser harness</title>
<style>body{font:20px sans-serif;margin:40px} #msg{color:#06c}</style></head>
<body>
<h1>caddy-stepup browser harness</h1>
<p id="msg">not clicked yet</p>
<button id="go" onclick="document.getElementById('msg').textContent='clicked: step-up complete'; console.log('clicked')">Click me</button>
<a id="next" href="/next">next page</a>
</body></html>`

func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, page)
	})
	mux.HandleFunc("/next", func(w http.ResponseWriter, r *http.Request) {
		// A redirect, as an OIDC flow does.
		http.Redirect(w, r, "/landed?via=redirect", http.StatusFound)
	})
	mux.HandleFunc("/landed", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!doctype html><p>landed via %s over %s</p>", r.URL.Query().Get("via"), r.Proto)
	})
	return mux
}

// TestClickOverTLS loads a page from a TLS server with a self-signed
// certificate (as Caddy's internal CA is to Chromium), clicks a button that
// changes the text, follows a link through a redirect, and screenshots.
func TestClickOverTLS(t *testing.T) {
	srv := httptest.NewTLSServer(handler()) // listens on 127.0.0.1
	t.Cleanup(srv.Close)

	b := browser.New(t)
	b.Navigate(srv.URL + "/")
	if got := b.TextOf("#msg"); got != "not clicked yet" {
		t.Fatalf("before click: #msg = %q", got)
	}
	b.Click("#go")
	if got := b.TextOf("#msg"); got != "clicked: step-up complete" {
		t.Fatalf("after click: #msg = %q", got)
	}
	if !strings.Contains(b.Text(), "clicked: step-up complete") {
		t.Fatalf("page text lacks the new text: %q", b.Text())
	}
	if got, want := b.Title(), "browser harness"; got != want {
		t.Errorf("title = %q, want %q", got, want)
	}
	shot := b.Screenshot(t, "clicked")
	checkPNG(t, shot)

	b.Click("#next")
	u := b.WaitURLPrefix(srv.URL + "/landed")
	if !strings.HasSuffix(u, "?via=redirect") {
		t.Errorf("URL after redirect = %q", u)
	}
	b.WaitText("landed via redirect")
	b.Screenshot(t, "landed")

	if c := b.Console(); !containsLine(c, "log: clicked") {
		t.Errorf("console = %q, want a line with %q", c, "log: clicked")
	}
}

// TestPlainHTTPLoopback checks that Chromium does not upgrade plain http to
// loopback addresses to https (the Hydra harness serves plain http).
func TestPlainHTTPLoopback(t *testing.T) {
	srv := httptest.NewServer(handler())
	t.Cleanup(srv.Close)
	localhost := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)

	b := browser.New(t)
	for _, base := range []string{srv.URL, localhost} {
		b.Navigate(base + "/next")
		u := b.WaitURLPrefix(base + "/landed")
		if !strings.HasPrefix(u, "http://") {
			t.Errorf("URL = %q, want plain http", u)
		}
		b.WaitText("landed via redirect over HTTP/1.1")
	}
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if r := img.Bounds(); r.Dx() < 100 || r.Dy() < 100 {
		t.Fatalf("%s: tiny image %v", path, r)
	}
}

func containsLine(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}
