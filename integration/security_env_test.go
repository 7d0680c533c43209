package integration

// Shared fixtures of the attack battery (security_*_test.go): a recording
// upstream, a Caddy in front of the rogue OpenID Provider, a navigation
// walker that keeps every hop's Set-Cookie, raw HTTP requests for exact
// request targets and headers, and assertions on Caddy's JSON log.

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
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

// hop is one request of a navigation and its answer.
type hop struct {
	url     *url.URL
	status  int
	header  http.Header
	body    string
	cookies []*http.Cookie // Set-Cookie of this answer
}

// trip is a navigation, hop by hop.
type trip struct{ hops []hop }

func (tr trip) last() hop { return tr.hops[len(tr.hops)-1] }

func (tr trip) urls() []string {
	var s []string
	for _, h := range tr.hops {
		s = append(s, h.url.String())
	}
	return s
}

// minted reports whether any answer set a non-empty session cookie.
func (tr trip) minted() bool {
	for _, h := range tr.hops {
		for _, c := range h.cookies {
			if c.Name == sessionCookieName && c.Value != "" && c.MaxAge >= 0 {
				return true
			}
		}
	}
	return false
}

// setCookie returns the first cookie set on the trip whose name has prefix.
func (tr trip) setCookie(prefix string) (*http.Cookie, bool) {
	for _, h := range tr.hops {
		for _, c := range h.cookies {
			if strings.HasPrefix(c.Name, prefix) && c.Value != "" {
				return c, true
			}
		}
	}
	return nil, false
}

// hopTo returns the first hop whose path is p.
func (tr trip) hopTo(p string) (hop, bool) {
	for _, h := range tr.hops {
		if h.url.Path == p {
			return h, true
		}
	}
	return hop{}, false
}

// walk navigates like a browser from target, following redirects. When stop
// says so for the next URL, walk returns without requesting it (as next).
func walk(t *testing.T, c *http.Client, target string, stop func(*url.URL) bool) (tr trip, next *url.URL) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("walk: %v", err)
	}
	for range 25 {
		if stop != nil && stop(u) {
			return tr, u
		}
		resp, err := c.Do(navigation(u)) // keeps the exact path and query
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		tr.hops = append(tr.hops, hop{url: u, status: resp.StatusCode, header: resp.Header, body: string(body), cookies: resp.Cookies()})
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode >= 400 || loc == "" {
			return tr, nil
		}
		if u, err = u.Parse(loc); err != nil {
			t.Fatalf("bad Location %q: %v", loc, err)
		}
	}
	t.Fatalf("too many redirects: %v", tr.urls())
	return tr, nil
}

func isCallback(u *url.URL) bool { return u.Path == callbackPath }

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

// jarSession returns the session cookie value the client holds for the site.
func jarSession(c *http.Client, site string) string {
	u, _ := url.Parse(site)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == sessionCookieName {
			return ck.Value
		}
	}
	return ""
}

// withQuery returns a copy of u with query parameter name set to value
// (removed when value is nil).
func withQuery(u *url.URL, name string, value *string) *url.URL {
	v := *u
	q := v.Query()
	if value == nil {
		q.Del(name)
	} else {
		q.Set(name, *value)
	}
	v.RawQuery = q.Encode()
	return &v
}

func ptr[T any](v T) *T { return &v }

// logEntry is one line of Caddy's JSON log.
type logEntry map[string]any

func (l logEntry) str(key string) string { s, _ := l[key].(string); return s }

// logMark is the current end of Caddy's log; later assertions look after it.
func logMark(c *caddyproc.Caddy) int { return len(c.Logs()) }

// entriesSince parses the JSON log lines written after mark.
func entriesSince(c *caddyproc.Caddy, mark int) []logEntry {
	var out []logEntry
	sc := bufio.NewScanner(strings.NewReader(c.Logs()[mark:]))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var l logEntry
		if json.Unmarshal(sc.Bytes(), &l) == nil {
			out = append(out, l)
		}
	}
	return out
}

// logQuery selects a stepup log entry: msg and, when set, reason, the
// request's path, and a field holding a substring.
type logQuery struct {
	msg, reason, path string
	field, substr     string
}

func (q logQuery) matches(l logEntry) bool {
	if l.str("logger") != "http.handlers.stepup" || l.str("msg") != q.msg {
		return false
	}
	if q.reason != "" && l.str("reason") != q.reason {
		return false
	}
	if q.path != "" {
		req, _ := l["request"].(map[string]any)
		if p, _ := req["path"].(string); p != q.path {
			return false
		}
	}
	return q.field == "" || strings.Contains(l.str(q.field), q.substr)
}

// waitLogEntry waits for a stepup log entry after mark that q selects, and
// returns it. Caddy's stderr reaches the buffer through a pipe, so the
// line may trail the response by a moment.
func waitLogEntry(t *testing.T, c *caddyproc.Caddy, mark int, q logQuery) logEntry {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, l := range entriesSince(c, mark) {
			if q.matches(l) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no stepup log entry %+v; log since the attack:\n%s", q, tail(c.Logs()[mark:], 20))
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLog waits for the entry msg with "reason":reason after mark.
func waitLog(t *testing.T, c *caddyproc.Caddy, mark int, msg, reason string) logEntry {
	t.Helper()
	return waitLogEntry(t, c, mark, logQuery{msg: msg, reason: reason})
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// refusal is what a refused login must look like.
type refusal struct {
	status int
	reason string // "reason" of the "step-up refused" log entry
	detail string // substring of its "error" field ("" to skip)
}

// assertRefusedLogin checks that the trip ended at the callback with the
// refusal's status, that the log names the reason, that no session cookie
// was set on the way, that the upstream saw nothing since upCount, and
// that the browser holds no more privilege than before: its session cookie
// (if any) is unchanged and /admin still challenges it.
func (e *rogueEnv) assertRefusedLogin(t *testing.T, c *http.Client, tr trip, mark, upCount int, before string, want refusal) {
	t.Helper()
	assertRefusedAt(t, e.caddy, e.upstream, c, tr, mark, upCount, before, want)
}

func assertRefusedAt(t *testing.T, cd *caddyproc.Caddy, up *recordingUpstream, c *http.Client, tr trip, mark, upCount int, before string, want refusal) {
	t.Helper()
	last := tr.last()
	if last.url.Path != callbackPath || last.status != want.status {
		t.Errorf("attack ended at %s with %d, want the callback refusing with %d: %s", last.url.Path, last.status, want.status, truncate(last.body))
	}
	l := waitLog(t, cd, mark, "step-up refused", want.reason)
	if want.detail != "" && !strings.Contains(l.str("error"), want.detail) {
		t.Errorf("refused for reason %q but the detail is %q, want it to mention %q", want.reason, l.str("error"), want.detail)
	}
	if st, _ := l["status"].(float64); int(st) != want.status {
		t.Errorf("log entry status %v, want %d", l["status"], want.status)
	}
	if tr.minted() {
		t.Error("a session cookie was set during the attack")
	}
	if got := jarSession(c, cd.URL()); got != before {
		t.Errorf("the browser's session cookie changed during the attack")
	}
	if n := up.count(); n != upCount {
		t.Errorf("the upstream was reached %d times during the attack: %+v", n-upCount, up.since(upCount))
	}
	if resp, _ := api(t, c, "GET", cd.URL()+"/admin"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("after the attack /admin answered %d, want 401", resp.StatusCode)
	}
	if n := up.count(); n != upCount {
		t.Errorf("the upstream was reached after the attack: %+v", up.since(upCount))
	}
}

// rawRequest sends request bytes verbatim to Caddy over TLS and returns the
// answer, for request targets and headers that net/http would normalise.
func rawRequest(t *testing.T, c *caddyproc.Caddy, req string) (*http.Response, string) {
	t.Helper()
	tlsCfg := c.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	tlsCfg.ServerName = "localhost"
	tlsCfg.NextProtos = []string{"http/1.1"}
	conn, err := tls.Dial("tcp", fmt.Sprintf("localhost:%d", c.Port()), tlsCfg)
	if err != nil {
		t.Fatalf("raw request: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatalf("raw request: write: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("raw request: read: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// rawGET is a GET for target (sent as is) with extra header lines.
func rawGET(t *testing.T, c *caddyproc.Caddy, target string, headers ...string) (*http.Response, string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: localhost:%d\r\nAccept: application/json\r\nConnection: close\r\n", target, c.Port())
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return rawRequest(t, c, b.String())
}

// normalisedPath is how a lenient upstream might resolve p: decoded, case
// folded, dot segments removed, slashes merged (Caddy's own normalisation).
func normalisedPath(p string) string {
	if d, err := url.PathUnescape(p); err == nil {
		p = d
	}
	p = strings.ToLower(p)
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	clean := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean
}

// assertAlive checks Caddy still serves and never panicked.
func assertAlive(t *testing.T, e *rogueEnv) {
	t.Helper()
	resp, _ := api(t, e.freshClient(), "GET", e.caddy.URL()+"/")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("Caddy answered %d to a plain request after the attacks", resp.StatusCode)
	}
	if logs := e.caddy.Logs(); strings.Contains(logs, "panic") {
		t.Errorf("Caddy's log mentions a panic:\n%s", tail(logs, 30))
	}
}

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
