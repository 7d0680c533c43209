package integration

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/caddyproc"
	"github.com/caddy-stepup/caddy-stepup/integration/internal/hydra"
)

// callbackCookies records the session cookie each login callback sets.
type callbackCookies struct {
	next http.RoundTripper
	mu   sync.Mutex
	set  []*http.Cookie
}

func (c *callbackCookies) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(r)
	if err == nil && strings.HasSuffix(r.URL.Path, "/.stepup/callback") {
		for _, ck := range resp.Cookies() {
			if ck.Name == "__Host-stepup" && ck.Value != "" {
				c.mu.Lock()
				c.set = append(c.set, ck)
				c.mu.Unlock()
			}
		}
	}
	return resp, err
}

// The cookie a max_age 0 login mints buys one request, on a real Caddy: a
// copy of it sent again within the pass window is challenged (issue 13,
// item 3). Before, the copy passed every time for a minute.
func TestFreshLoginCookieCannotBeReplayed(t *testing.T) {
	e := &env{idp: hydra.Start(t, hydra.Options{}), upstream: startUpstream(t)}
	e.caddy = caddyproc.Start(t, caddyproc.Options{
		Site: siteConfig(e.idp.Issuer(), e.upstream.URL, `rule wire {
			match /wire*
			max_age 0
		}`),
		Env: []string{"STEPUP_TEST_SECRET=" + edgeSecret},
	})
	e.registerEdge(t, e.caddy)
	e.grant("alice", acrPwd, "pwd")
	b := e.caddy.Client()
	rec := &callbackCookies{next: b.Transport}
	b.Transport = rec
	if got := navigate(t, b, e.caddy.URL()+"/wire").echoed(t); got.Rule != "wire" {
		t.Fatalf("the fresh login's own request: %+v", got)
	}
	if len(rec.set) != 1 {
		t.Fatalf("%d session cookies set by the callback, want 1", len(rec.set))
	}
	replayer := e.caddy.Client()
	for i := range 5 {
		req, _ := http.NewRequest(http.MethodPost, e.caddy.URL()+"/wire", nil)
		req.Header.Set("Accept", "application/json")
		req.AddCookie(rec.set[0])
		resp, err := replayer.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("replay %d of the fresh login's cookie: %d, want a 401 challenge", i+1, resp.StatusCode)
		}
	}
}

// A risk step-up with max_age 0 on a path a rule also covers allows one
// request, like a rule's max_age 0: before, its pass was never used up and
// every risky request passed for a minute (issue 13, item 3).
func TestRiskFreshLoginOnARulePathAllowsOneRequest(t *testing.T) {
	e, b, ip := signedInFromLondon(t, "max_age 0")
	ip.Store(ipListed)
	e.grant("alice", acrMFA, "pwd", "otp")
	if got := navigate(t, b, e.caddy.URL()+"/admin").echoed(t); got.ACR != acrMFA || got.Rule != "admin" {
		t.Fatalf("the risk step-up's own request: %+v", got)
	}
	if resp, body := api(t, b, "GET", e.caddy.URL()+"/admin"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a second risky request on the same fresh login: %d %s, want a 401 challenge", resp.StatusCode, truncate(body))
	}
}
