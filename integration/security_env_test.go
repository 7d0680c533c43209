package integration

// Shared fixtures of the attack battery (security_*_test.go): a recording
// upstream and a Caddy in front of the rogue OpenID Provider here; a
// navigation walker that keeps every hop's Set-Cookie in
// security_walk_test.go, raw HTTP requests for exact request targets and
// headers in security_raw_test.go, assertions on Caddy's JSON log in
// security_logquery_test.go and on refused logins in
// security_refusal_test.go.

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/caddyproc"
	"github.com/caddy-stepup/caddy-stepup/internal/rogueop"
)

// Cookie names on the HTTPS site.
const (
	sessionCookieName = "__Host-stepup"
	flowCookiePrefix  = "__Secure-stepup_flow_"
	callbackPath      = "/.stepup/callback"
)

// seen is one request as the upstream received it.
type seen struct {
	Path        string // decoded
	EscapedPath string
	Header      http.Header
}

// recordingUpstream answers like startUpstream's echo and remembers every
// request, so a test can prove the upstream was never reached.
type recordingUpstream struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []seen
}

func startRecordingUpstream(t *testing.T) *recordingUpstream {
	u := &recordingUpstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.reqs = append(u.reqs, seen{Path: r.URL.Path, EscapedPath: r.URL.EscapedPath(), Header: r.Header.Clone()})
		u.mu.Unlock()
		writeEcho(w, r)
	}))
	t.Cleanup(u.Close)
	return u
}

// count is how many requests reached the upstream so far.
func (u *recordingUpstream) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.reqs)
}

// since returns the requests after the first n.
func (u *recordingUpstream) since(n int) []seen {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]seen(nil), u.reqs[n:]...)
}

// rogueEnv is a Caddy with the stepup site of siteConfig, whose IdP is the
// rogue OpenID Provider.
type rogueEnv struct {
	op        *rogueop.Provider
	caddy     *caddyproc.Caddy
	upstream  *recordingUpstream
	lastLogin []hop // the hops of sessionValue's login
}

// rogueSite tunes newRogueEnv.
type rogueSite struct {
	extra        string // more stepup subdirectives
	requireRules bool   // require_login rules instead of all
	storageDir   string // share another Caddy's storage (and cookie keys)
	op           *rogueop.Provider
	edit         func(site string) string // rewrites the site config last
}

func newRogueEnv(t *testing.T, s rogueSite) *rogueEnv {
	t.Helper()
	e := &rogueEnv{op: s.op, upstream: startRecordingUpstream(t)}
	if e.op == nil {
		e.op = rogueop.Start(t, rogueop.Options{ClientID: edgeClientID, ClientSecret: edgeSecret})
	}
	site := siteConfig(e.op.Issuer(), e.upstream.URL, s.extra)
	if s.requireRules {
		site = strings.Replace(site, "require_login all", "require_login rules", 1)
	}
	if s.edit != nil {
		site = s.edit(site)
	}
	e.caddy = caddyproc.Start(t, caddyproc.Options{
		Site:       site,
		StorageDir: s.storageDir,
		Env:        []string{"STEPUP_TEST_SECRET=" + edgeSecret},
	})
	return e
}

// login runs a whole navigation to target with the OP's current script and
// requires that it reached the upstream; it returns the trip.
func (e *rogueEnv) login(t *testing.T, c *http.Client, target string) trip {
	t.Helper()
	tr, _ := walk(t, c, e.caddy.URL()+target, nil)
	if last := tr.last(); last.status != http.StatusOK || !tr.minted() {
		t.Fatalf("setup login to %s did not succeed: %d %s (hops %v)", target, last.status, truncate(last.body), tr.urls())
	}
	return tr
}

// loginAs logs the browser in on target as sub with acr (amr pwd).
func (e *rogueEnv) loginAs(t *testing.T, c *http.Client, target, sub, acr string) trip {
	t.Helper()
	e.op.OnToken(func(g rogueop.Grant) rogueop.Reply {
		return rogueop.Tokens(e.op.SignRS256(e.op.Claims(g).With("sub", sub).With("acr", acr)))
	})
	defer e.op.OnToken(nil)
	return e.login(t, c, target)
}

// startFlow navigates to target and stops where the IdP sends the browser
// back: it returns that callback URL (code and state) unvisited.
func (e *rogueEnv) startFlow(t *testing.T, c *http.Client, target string) (*url.URL, trip) {
	t.Helper()
	tr, cb := walk(t, c, e.caddy.URL()+target, isCallback)
	if cb == nil {
		t.Fatalf("the flow for %s never reached the callback: %v (last %d %s)", target, tr.urls(), tr.last().status, truncate(tr.last().body))
	}
	return cb, tr
}

// freshClient is a new browser: its own cookie jar, Caddy's CA.
func (e *rogueEnv) freshClient() *http.Client { return e.caddy.Client() }

func ptr[T any](v T) *T { return &v }

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func nowUnix() int64 { return time.Now().Unix() }
