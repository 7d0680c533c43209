package integration

import (
	"io"
	"net"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/browser"
	"github.com/caddy-stepup/caddy-stepup/integration/internal/caddyproc"
	"github.com/caddy-stepup/caddy-stepup/integration/internal/hydra"
)

// front stands for the load balancer before two replicas: a TCP relay
// (TLS passes through to Caddy) sending every connection to the current
// replica. Switching closes the open connections, so the browser's next
// request reaches the other replica on one origin, as behind a real
// balancer.
type front struct {
	ln     net.Listener
	mu     sync.Mutex
	target string
	conns  map[net.Conn]bool
}

func startFront(t *testing.T, target *caddyproc.Caddy) *front {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &front{ln: ln, conns: map[net.Conn]bool{}}
	f.to(target)
	t.Cleanup(func() { ln.Close(); f.to(nil) })
	go f.serve()
	return f
}

func (f *front) URL() string {
	return "https://localhost:" + strconv.Itoa(f.ln.Addr().(*net.TCPAddr).Port)
}

// to sends new connections to c (none after nil) and closes open ones.
func (f *front) to(c *caddyproc.Caddy) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.target = ""
	if c != nil {
		f.target = "127.0.0.1:" + strconv.Itoa(c.Port())
	}
	for conn := range f.conns {
		conn.Close()
		delete(f.conns, conn)
	}
}

func (f *front) serve() {
	for {
		in, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.mu.Lock()
		target := f.target
		out, err := net.Dial("tcp", target)
		if err != nil {
			f.mu.Unlock()
			in.Close()
			continue
		}
		f.conns[in], f.conns[out] = true, true
		f.mu.Unlock()
		go func() { _, _ = io.Copy(out, in); out.Close() }()
		go func() { _, _ = io.Copy(in, out); in.Close() }()
	}
}

// TestBrowserHeldFormCallbackOnOneReplicaConfirmedOnAnother: two Caddys
// share storage behind one origin. The form is held and the login's
// callback handled by replica A; the confirmation is sent to replica B,
// which finds the held form, the session and the login's proof, and sends
// the form once. Confirming again, on A, is refused: B deleted it.
func TestBrowserHeldFormCallbackOnOneReplicaConfirmedOnAnother(t *testing.T) {
	up := &formUpstream{}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	idp := hydra.Start(t, hydra.Options{})
	a := caddyproc.Start(t, caddyproc.Options{Site: heldSite(idp.Issuer(), srv.URL, ""), Env: []string{"STEPUP_TEST_SECRET=" + edgeSecret}})
	b := caddyproc.Start(t, caddyproc.Options{Site: heldSite(idp.Issuer(), srv.URL, ""), StorageDir: a.StorageDir(), Env: []string{"STEPUP_TEST_SECRET=" + edgeSecret}})
	lb := startFront(t, a)
	e := &env{idp: idp, caddy: a, upstream: srv}
	e.client = idp.CreateClient(t, hydra.Client{ID: edgeClientID, Secret: edgeSecret, RedirectURIs: []string{lb.URL() + "/.stepup/callback"}, Scopes: []string{"openid", "profile"}})

	br := browser.New(t)
	signedInAtForm(t, e, br, lb.URL(), "/form")
	br.Click("#send")
	br.WaitText("You were sending a form to")
	fields := browser.Get(br, chromedp.Evaluate[[]string](`['id', 'token', 'flow'].map(n => document.querySelector('input[name=' + n + ']').value)`))
	wantCounts(t, a, map[string]float64{"held": 1})

	lb.to(b)
	br.Click(`button[value=send]`)
	br.WaitText("transfer received")
	if got, _ := up.got(); len(got) != 1 || got[0] != "application/x-www-form-urlencoded|to=bob&amount=100" {
		t.Fatalf("upstream received %q, want the form once", got)
	}
	wantCounts(t, a, map[string]float64{"held": 1})
	wantCounts(t, b, map[string]float64{"resumed": 1})
	wantAudit(t, b, true, "held form resumed")

	lb.to(a)
	br.Navigate(lb.URL() + "/other")
	br.WaitText("page /other")
	br.Run(chromedp.Evaluate[chromedp.Void](`(() => { const f = document.createElement('form'); f.method = 'post'; f.action = '/.stepup/resume';
for (const [n, v] of [['id', ` + jsString(fields[0]) + `], ['token', ` + jsString(fields[1]) + `], ['flow', ` + jsString(fields[2]) + `], ['action', 'send']]) {
  const i = document.createElement('input'); i.type = 'hidden'; i.name = n; i.value = v; f.appendChild(i); }
document.body.appendChild(f); f.submit(); })()`))
	br.WaitText("no longer held")
	if got, _ := up.got(); len(got) != 1 {
		t.Fatalf("the second confirmation, on the other replica, reached the upstream: %d forms", len(got))
	}
	wantCounts(t, a, map[string]float64{"held": 1, "refused": 1})
}
