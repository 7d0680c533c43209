package integration

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/browser"
	"github.com/caddy-stepup/caddy-stepup/integration/internal/caddyproc"
	"github.com/caddy-stepup/caddy-stepup/integration/internal/hydra"
)

// heldSite is siteConfig with extra stepup settings and a /metrics route,
// so a test reads the held-form counters as Prometheus would.
func heldSite(issuer, upstream, extra string) string {
	return fmt.Sprintf("\thandle /metrics {\n\t\tmetrics\n\t}\n\thandle {\n%s\n\t}", siteConfig(issuer, upstream, hydraBearer+"\n\t\t"+extra))
}

// startHeldEnv runs Hydra, the form upstream and a Caddy with heldSite.
func startHeldEnv(t *testing.T, extra string) (*env, *formUpstream) {
	t.Helper()
	return startHeldEnvWith(t, func(issuer, upstream string) string { return heldSite(issuer, upstream, extra) })
}

func startHeldEnvWith(t *testing.T, site func(issuer, upstream string) string) (*env, *formUpstream) {
	t.Helper()
	up := &formUpstream{}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	e := &env{idp: hydra.Start(t, hydra.Options{}), upstream: srv}
	e.caddy = caddyproc.Start(t, caddyproc.Options{
		Site: site(e.idp.Issuer(), e.upstream.URL),
		Env:  []string{"STEPUP_TEST_SECRET=" + edgeSecret},
	})
	e.client = e.registerEdge(t, e.caddy)
	return e, up
}

// heldCounts scrapes caddy_stepup_held_forms_total by result.
func heldCounts(t *testing.T, c *caddyproc.Caddy) map[string]float64 {
	t.Helper()
	return counterByLabel(t, c, "caddy_stepup_held_forms_total", "result")
}

// counterByLabel scrapes Caddy's /metrics for a counter with one label and
// returns its values by that label's value.
func counterByLabel(t *testing.T, c *caddyproc.Caddy, name, label string) map[string]float64 {
	t.Helper()
	resp, err := c.Client().Get(c.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	counts := map[string]float64{}
	prefix := name + "{" + label + `="`
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), prefix)
		if !ok {
			continue
		}
		value, v, _ := strings.Cut(line, `"} `)
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", sc.Text(), err)
		}
		counts[value] = n
	}
	return counts
}

func wantCounts(t *testing.T, c *caddyproc.Caddy, want map[string]float64) {
	t.Helper()
	got := heldCounts(t, c)
	for _, result := range []string{"held", "resumed", "discarded", "refused"} {
		if got[result] != want[result] {
			t.Errorf("caddy_stepup_held_forms_total{result=%q} = %v, want %v (all: %v)", result, got[result], want[result], got)
		}
	}
}

// wantAudit checks Caddy's log has each event (by message), or not.
func wantAudit(t *testing.T, c *caddyproc.Caddy, present bool, msgs ...string) {
	t.Helper()
	logs := c.Logs()
	for _, m := range msgs {
		if strings.Contains(logs, `"msg":"`+m+`"`) != present {
			t.Errorf("audit event %q logged: %v, want %v", m, !present, present)
		}
	}
}

// heldFiles lists the held forms in a Caddy's storage.
func heldFiles(t *testing.T, c *caddyproc.Caddy) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(c.StorageDir(), "stepup", "held"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func responseStatus(b *browser.Browser) int {
	return browser.Get(b, chromedp.Evaluate[int](`performance.getEntriesByType('navigation')[0].responseStatus`))
}

// signedInAtForm signs carol in with a password, opens path and readies
// the IdP to grant MFA at the step-up the form's submission needs.
func signedInAtForm(t *testing.T, e *env, b *browser.Browser, site, path string) {
	t.Helper()
	e.grant("carol", acrPwd, "pwd")
	b.Navigate(site + path)
	b.WaitText("Send")
	e.grant("carol", acrMFA, "pwd", "otp")
}

// TestBrowserHeldFormExpires: with hold_lifetime 1s, a form confirmed
// after its lifetime is refused with the "no longer held" page, reaches
// nothing, and is gone from storage.
func TestBrowserHeldFormExpires(t *testing.T) {
	e, up := startHeldEnv(t, "hold_lifetime 1s")
	site := e.caddy.URL()
	b := browser.New(t)
	signedInAtForm(t, e, b, site, "/form")
	b.Click("#send")
	b.WaitURLPrefix(site + "/.stepup/resume?id=")
	heldBy := time.Now() // the form was held before the login returned here
	b.WaitTrue("the confirmation or expiry page", `document.readyState === 'complete' && /You were sending a form to|no longer held/.test(document.body.innerText)`)
	// Expiry is checked in whole seconds: 2 s after the hold it has passed.
	time.Sleep(time.Until(heldBy.Add(2*time.Second + 100*time.Millisecond)))
	if strings.Contains(b.Text(), "You were sending a form to") {
		// The login beat the lifetime: the page was shown; now Send is late.
		b.Click(`button[value=send]`)
	} else {
		b.Navigate(b.URL())
	}
	b.WaitText("no longer held")
	if s := responseStatus(b); s != 410 {
		t.Errorf("expired form: status %d, want 410", s)
	}
	if got, _ := up.got(); len(got) != 0 {
		t.Fatalf("an expired form reached the upstream: %q", got)
	}
	if files := heldFiles(t, e.caddy); len(files) != 0 {
		t.Errorf("expired form still in storage: %v", files)
	}
	wantCounts(t, e.caddy, map[string]float64{"held": 1, "refused": 1})
	wantAudit(t, e.caddy, true, "form held for step-up", "held form refused")
	wantAudit(t, e.caddy, false, "held form resumed")
}

// TestBrowserHeldMultipartFormArrivesIntact: a multipart form with a file
// field, held across the step-up, reaches the upstream byte for byte.
func TestBrowserHeldMultipartFormArrivesIntact(t *testing.T) {
	e, up := startHeldEnv(t, "")
	site := e.caddy.URL()
	// Every byte value, and what a multipart parser must not trip on.
	var data []byte
	for i := range 3000 {
		data = append(data, byte(i*7))
	}
	data = append(data, "\r\n--\r\n------WebKitFormBoundary\r\n"...)
	path := filepath.Join(t.TempDir(), "report.bin")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	b := browser.New(t)
	signedInAtForm(t, e, b, site, "/upload")
	b.Run(chromedp.SetUploadFiles(chromedp.CSS("#doc"), []string{path}))
	b.Click("#send")
	page := b.WaitText("You were sending a form to")
	for _, want := range []string{"/admin/upload", "note: quarterly", "doc: (file)"} {
		if !strings.Contains(page, want) {
			t.Errorf("confirmation page lacks %q: %q", want, truncate(page))
		}
	}
	b.Click(`button[value=send]`)
	b.WaitText("upload received")
	got, users := up.got()
	want := fmt.Sprintf("note=quarterly|file=report.bin|%d bytes|%x", len(data), sha256.Sum256(data))
	if len(got) != 1 || got[0] != want {
		t.Fatalf("upstream received %q, want %q once", got, want)
	}
	if users[0] != "carol|"+acrMFA {
		t.Fatalf("upstream identity %q", users[0])
	}
	wantCounts(t, e.caddy, map[string]float64{"held": 1, "resumed": 1})
	wantAudit(t, e.caddy, true, "form held for step-up", "held form resumed")
}

// TestBrowserFormOverTheCapGetsTheChallenge: a form larger than
// hold_max_body is answered as before holding existed (401 challenge),
// nothing is held and nothing reaches the upstream.
func TestBrowserFormOverTheCapGetsTheChallenge(t *testing.T) {
	e, up := startHeldEnv(t, "hold_max_body 1KiB")
	site := e.caddy.URL()
	b := browser.New(t)
	signedInAtForm(t, e, b, site, "/big")
	logins := len(e.idp.LoginRequests())
	b.Click("#send")
	b.WaitURL(site+"/admin/transfer", func(u string) bool { return u == site+"/admin/transfer" })
	b.WaitTrue("the page to load", `document.readyState === 'complete'`)
	if s := responseStatus(b); s != 401 {
		t.Fatalf("form over the cap: status %d, want the 401 challenge", s)
	}
	if n := len(e.idp.LoginRequests()); n != logins {
		t.Errorf("form over the cap went to the IdP (%d login requests, was %d)", n, logins)
	}
	if got, _ := up.got(); len(got) != 0 {
		t.Fatalf("upstream received %q", got)
	}
	if files := heldFiles(t, e.caddy); len(files) != 0 {
		t.Errorf("held forms in storage: %v", files)
	}
	wantCounts(t, e.caddy, map[string]float64{})
	wantAudit(t, e.caddy, false, "form held for step-up")
}

// TestBrowserTwoTabsEachSendTheirOwnHeldForm: two tabs of one browser
// hold a form each, both held at once, each after its own login (the
// first, with no session, a password login for /member; the second, MFA
// for /admin, which the first login falls short of), and each tab's Send
// delivers its own form, once. (Hydra keeps one pending login per client
// and browser, so the logins follow each other.)
func TestBrowserTwoTabsEachSendTheirOwnHeldForm(t *testing.T) {
	e, up := startHeldEnvWith(t, func(issuer, upstream string) string {
		member := "rule member {\n\t\t\tmatch /member*\n\t\t\tacr " + acrPwd + "\n\t\t}"
		return strings.Replace(heldSite(issuer, upstream, member), "require_login all", "require_login rules", 1)
	})
	site := e.caddy.URL()
	tab1 := browser.New(t)
	tab1.Navigate(site + "/form?to=bob&action=/member/transfer")
	tab1.WaitText("Send")
	tab2 := tab1.NewTab()
	tab2.Navigate(site + "/form?to=dave&action=/admin/transfer")
	tab2.WaitText("Send")

	e.grant("carol", acrPwd, "pwd")
	tab1.Click("#send")
	if page := tab1.WaitText("You were sending a form to"); !strings.Contains(page, "/member/transfer") || !strings.Contains(page, "to: bob") {
		t.Fatalf("first tab's confirmation: %q", truncate(page))
	}
	e.grant("carol", acrMFA, "pwd", "otp")
	tab2.Click("#send")
	if page := tab2.WaitText("You were sending a form to"); !strings.Contains(page, "/admin/transfer") || !strings.Contains(page, "to: dave") {
		t.Fatalf("second tab's confirmation: %q", truncate(page))
	}
	if n := len(heldFiles(t, e.caddy)); n != 2 {
		t.Fatalf("%d forms held, want both", n)
	}
	tab2.Click(`button[value=send]`)
	tab2.WaitText("transfer received")
	tab1.Click(`button[value=send]`)
	tab1.WaitText("transfer received")
	got, users := up.got()
	if want := []string{"application/x-www-form-urlencoded|to=dave&amount=100", "application/x-www-form-urlencoded|to=bob&amount=100"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("upstream received %q, want %q", got, want)
	}
	if users[0] != "carol|"+acrMFA || users[1] != "carol|"+acrMFA {
		t.Fatalf("upstream identities %q, want carol with MFA for both", users)
	}
	if n := len(heldFiles(t, e.caddy)); n != 0 {
		t.Fatalf("%d forms still held after both were sent", n)
	}
	wantCounts(t, e.caddy, map[string]float64{"held": 2, "resumed": 2})
}
