package integration

import (
	"crypto/sha256"
	"fmt"
	"html"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/browser"
)

// formUpstream serves a transfer form at /form and records every body
// posted to /admin/transfer.
type formUpstream struct {
	mu       sync.Mutex
	received []string
	users    []string
}

func (u *formUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	switch {
	case r.URL.Path == "/form":
		to := r.URL.Query().Get("to")
		if to == "" {
			to = "bob"
		}
		action := r.URL.Query().Get("action")
		if action == "" {
			action = "/admin/transfer"
		}
		io.WriteString(w, `<!doctype html><title>form</title><form method="post" action="`+html.EscapeString(action)+`">
<input name="to" value="`+html.EscapeString(to)+`"><input name="amount" value="100"><button id="send" type="submit">Send</button></form>`)
	case r.URL.Path == "/upload":
		io.WriteString(w, `<!doctype html><title>upload</title><form method="post" action="/admin/upload" enctype="multipart/form-data">
<input name="note" value="quarterly"><input type="file" id="doc" name="doc"><button id="send" type="submit">Send</button></form>`)
	case r.URL.Path == "/big":
		io.WriteString(w, `<!doctype html><title>big</title><form method="post" action="/admin/transfer">
<textarea name="memo">`+strings.Repeat("m", 2048)+`</textarea><button id="send" type="submit">Send</button></form>`)
	case r.URL.Path == "/admin/upload" && r.Method == http.MethodPost:
		got := "unreadable"
		if err := r.ParseMultipartForm(1 << 20); err == nil {
			if f, fh, err := r.FormFile("doc"); err == nil {
				data, _ := io.ReadAll(f)
				sum := sha256.Sum256(data)
				got = fmt.Sprintf("note=%s|file=%s|%d bytes|%x", r.FormValue("note"), fh.Filename, len(data), sum)
			}
		}
		u.mu.Lock()
		u.received = append(u.received, got)
		u.users = append(u.users, r.Header.Get("X-User")+"|"+r.Header.Get("X-Acr"))
		u.mu.Unlock()
		io.WriteString(w, `<!doctype html><title>done</title><p>upload received</p>`)
	case strings.HasSuffix(r.URL.Path, "/transfer") && r.Method == http.MethodPost:
		body, _ := io.ReadAll(r.Body)
		u.mu.Lock()
		u.received = append(u.received, r.Header.Get("Content-Type")+"|"+string(body))
		u.users = append(u.users, r.Header.Get("X-User")+"|"+r.Header.Get("X-Acr"))
		u.mu.Unlock()
		io.WriteString(w, `<!doctype html><title>done</title><p>transfer received</p>`)
	default:
		io.WriteString(w, `<!doctype html><title>page</title><p>page `+r.URL.Path+`</p>`)
	}
}

func (u *formUpstream) got() ([]string, []string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.received...), append([]string(nil), u.users...)
}

// TestBrowserFormHeldAcrossStepUpIsSentOnceAfterConfirmation: a signed-in
// user posts a form that needs MFA; the form is held, the user steps up,
// confirms on the plugin's page, and the upstream receives exactly the
// original body once, with the new identity. Submitting the same
// confirmation again is refused and sends nothing.
func TestBrowserFormHeldAcrossStepUpIsSentOnceAfterConfirmation(t *testing.T) {
	e, up := startHeldEnv(t, "")
	site := e.caddy.URL()

	e.grant("carol", acrPwd, "pwd")
	b := browser.New(t)
	b.Navigate(site + "/form")
	b.WaitURL(site+"/form", func(u string) bool { return u == site+"/form" })
	b.WaitText("Send")

	e.grant("carol", acrMFA, "pwd", "otp")
	b.Click("#send")
	b.WaitURLPrefix(site + "/.stepup/resume?id=")
	page := b.WaitText("You were sending a form to")
	for _, want := range []string{"/admin/transfer", "POST", "to: bob", "amount: 100"} {
		if !strings.Contains(page, want) {
			t.Errorf("confirmation page lacks %q: %q", want, truncate(page))
		}
	}
	if got, _ := up.got(); len(got) != 0 {
		t.Fatalf("the upstream received %d forms before the confirmation", len(got))
	}
	b.Screenshot(t, "confirm")
	// The confirmation form as the page has it, to submit it a second time.
	fields := browser.Get(b, chromedp.Evaluate[[]string](`['id', 'token', 'flow'].map(n => document.querySelector('input[name=' + n + ']').value)`))

	b.Click(`button[value=send]`)
	b.WaitText("transfer received")
	got, users := up.got()
	if len(got) != 1 || got[0] != "application/x-www-form-urlencoded|to=bob&amount=100" {
		t.Fatalf("upstream received %q, want the original form once", got)
	}
	if users[0] != "carol|"+acrMFA {
		t.Fatalf("upstream identity %q, want carol with MFA", users[0])
	}

	// The same confirmation again, from a page of the site: refused.
	b.Navigate(site + "/other")
	b.WaitText("page /other")
	b.Run(chromedp.Evaluate[chromedp.Void](`(() => { const f = document.createElement('form'); f.method = 'post'; f.action = '/.stepup/resume';
for (const [n, v] of [['id', ` + jsString(fields[0]) + `], ['token', ` + jsString(fields[1]) + `], ['flow', ` + jsString(fields[2]) + `], ['action', 'send']]) {
  const i = document.createElement('input'); i.type = 'hidden'; i.name = n; i.value = v; f.appendChild(i); }
document.body.appendChild(f); f.submit(); })()`))
	b.WaitText("no longer held")
	if got, _ := up.got(); len(got) != 1 {
		t.Fatalf("a second confirmation reached the upstream: %d forms received", len(got))
	}
	wantCounts(t, e.caddy, map[string]float64{"held": 1, "resumed": 1, "refused": 1})
	wantAudit(t, e.caddy, true, "form held for step-up", "held form resumed", "held form refused")
}

func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}

// TestCrossSiteFormIsNotHeld: a form posted from another site gets the 401
// challenge, is not held, and never reaches the upstream.
func TestCrossSiteFormIsNotHeld(t *testing.T) {
	e := newEnv(t)
	req, _ := http.NewRequest(http.MethodPost, e.caddy.URL()+"/admin/transfer", strings.NewReader("to=mallory&amount=1000"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Accept", "text/html")
	resp, err := e.caddy.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("cross-site form: %d, want 401", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if strings.Contains(c.Name, "stepup_hold") {
			t.Fatalf("cross-site form set %s", c.Name)
		}
	}
}

// TestBrowserHeldFormDiscarded: Discard on the confirmation page sends
// nothing, and the held form cannot be sent afterwards.
func TestBrowserHeldFormDiscarded(t *testing.T) {
	e, up := startHeldEnv(t, "")
	site := e.caddy.URL()

	e.grant("carol", acrPwd, "pwd")
	b := browser.New(t)
	b.Navigate(site + "/form")
	b.WaitText("Send")
	e.grant("carol", acrMFA, "pwd", "otp")
	b.Click("#send")
	b.WaitText("You were sending a form to")
	confirmURL := b.URL()
	b.Click(`button[value=discard]`)
	b.WaitText("nothing was sent")
	b.Navigate(confirmURL)
	b.WaitText("no longer held")
	if got, _ := up.got(); len(got) != 0 {
		t.Fatalf("a discarded form reached the upstream: %q", got)
	}
	wantCounts(t, e.caddy, map[string]float64{"held": 1, "discarded": 1, "refused": 1})
	wantAudit(t, e.caddy, true, "held form discarded")
}
