package stepup

// Tests of the request path's optimisations (issue 7): each keeps the
// behaviour of the straightforward code it replaced.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// removeCookiesPlainly is removeCookies as first written: split, filter,
// join. The optimised one must give the same header for any input.
func removeCookiesPlainly(h http.Header, drop func(name string) bool) {
	lines := h["Cookie"]
	if len(lines) == 0 {
		return
	}
	found := false
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			if k, _, _ := strings.Cut(strings.TrimSpace(part), "="); drop(k) {
				found = true
			}
		}
	}
	if !found {
		return
	}
	var kept []string
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			part = strings.TrimSpace(part)
			if k, _, _ := strings.Cut(part, "="); part != "" && !drop(k) {
				kept = append(kept, part)
			}
		}
	}
	if len(kept) == 0 {
		h.Del("Cookie")
		return
	}
	h["Cookie"] = []string{strings.Join(kept, "; ")}
}

func TestRemoveCookiesBehavesAsSplitFilterJoin(t *testing.T) {
	ours := func(n string) bool { return n == "__Host-stepup" || strings.HasPrefix(n, "__Secure-stepup_flow_") }
	cases := [][]string{
		{"a=1; __Host-stepup=x; b=2"},
		{"__Host-stepup=x; a=1; b=2"},
		{"a=1; b=2; __Host-stepup=x"},
		{"a=1;b=2; __Host-stepup=x"},
		{"a=1;  b=2; __Host-stepup=x"},
		{" a=1 ; __Host-stepup=x ;"},
		{"a=1;; b=2; __Host-stepup=x"},
		{"__Host-stepup=x"},
		{"__Host-stepup=x; __Secure-stepup_flow_1=y"},
		{"a=1; b=2"},
		{"a=1;b=2;"},
		{""},
		{";"},
		{"=; __Host-stepup"},
		{"a=1; __Host-stepup=x", "b=2"},
		{"a=1", "__Host-stepup=x"},
		{"__Host-stepup=x", "__Host-stepup=y"},
	}
	// And random lines over an alphabet that makes separators, spaces,
	// empty parts and our names likely.
	rng := rand.New(rand.NewPCG(7, 7))
	pieces := []string{"a=1", "b=", "__Host-stepup=v", "__Secure-stepup_flow_z=1", "=x", "", " ", ";", "; ", ";;", "\t"}
	for range 5000 {
		var line strings.Builder
		for range rng.IntN(8) {
			line.WriteString(pieces[rng.IntN(len(pieces))])
		}
		cases = append(cases, []string{line.String()})
	}
	for _, lines := range cases {
		got := http.Header{"Cookie": append([]string{}, lines...)}
		want := http.Header{"Cookie": append([]string{}, lines...)}
		removeCookies(got, ours)
		removeCookiesPlainly(want, ours)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("Cookie %q: got %q, want %q", lines, got["Cookie"], want["Cookie"])
		}
	}
}

func TestUpstreamHeaderValueIsReplaceKnown(t *testing.T) {
	repl := caddy.NewReplacer()
	repl.Map(func(key string) (any, bool) {
		switch key {
		case "http.auth.user.id":
			return "alice", true
		case "http.auth.user.auth_time":
			return "", true
		case "http.stepup.risk.score":
			return 7, true
		}
		return nil, false
	})
	for _, tmpl := range []string{
		"{http.auth.user.id}", "{http.auth.user.auth_time}", "{http.stepup.risk.score}",
		"{unknown.placeholder}", "user {http.auth.user.id}", "{http.auth.user.id}!",
		"{http.auth.user.id}{http.auth.user.id}", `\{http.auth.user.id}`, `{http.auth.user.id\}`,
		"{}", "{", "}", "plain", "",
	} {
		u := compileUpstreamHeaders(map[string]string{"x-user": tmpl})[0]
		if u.name != "X-User" {
			t.Fatalf("name %q not canonical", u.name)
		}
		if got, want := u.value(repl), repl.ReplaceKnown(tmpl, ""); got != want {
			t.Errorf("template %q: %q, ReplaceKnown gives %q", tmpl, got, want)
		}
	}
}

// readSession decodes in a recycled buffer; a session read earlier must
// keep its claims when the buffer is reused for another cookie.
func TestSessionsOpenedInARecycledBufferKeepTheirClaims(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	th.sessions = nil // every read opens the cookie
	read := func(sub, acr string, amr ...string) *session {
		s := th.session(acr, amr...)
		s.Subject = sub
		r := request("GET", "http://127.0.0.1/admin", "Cookie", th.cookieFor(t, s))
		return th.readSession(r)
	}
	first := read("alice", "urn:otp", "pwd", "otp")
	for i := range 50 {
		read(fmt.Sprintf("mallory-%d-with-a-longer-subject", i), "urn:pwd", "x", "y", "z")
	}
	if first.Subject != "alice" || first.ACR != "urn:otp" || strings.Join(first.AMR, " ") != "pwd otp" {
		t.Fatalf("an earlier session changed: %+v", first)
	}
}

func TestOpenedSessionsAreCachedAndStillJudgedAtEveryRequest(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	s := th.session("urn:otp", "otp")
	s.Expires = th.clock.now().Add(10 * time.Minute)
	cookie := th.cookieFor(t, s)
	admin := func() served { return th.serve(t, request("GET", "http://127.0.0.1/admin", "Cookie", cookie)) }
	if out := admin(); out.upstream == nil {
		t.Fatalf("valid session refused: %d", out.rec.Code)
	}
	if th.sessions.m.len() != 1 {
		t.Fatalf("cache holds %d sessions, want 1", th.sessions.m.len())
	}
	if out := admin(); out.upstream == nil || out.upstream.Header.Get("X-User") != "alice" {
		t.Fatalf("cached session refused or lost its subject: %d", out.rec.Code)
	}
	th.clock.add(11 * time.Minute)
	if out := admin(); out.upstream != nil {
		t.Fatal("a cached session passed after it expired")
	}
}

func TestCookiesThatDoNotOpenAreNeverCached(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	good := th.cookieFor(t, th.session("urn:otp"))
	name, value, _ := strings.Cut(good, "=")
	for _, bad := range []string{
		value[:len(value)-2] + "AA", // tag
		value[:20] + "A" + value[21:],
		"garbage", strings.Repeat("A", 400),
	} {
		if s := th.readSession(request("GET", "http://127.0.0.1/admin", "Cookie", name+"="+bad)); s != nil {
			t.Fatalf("a tampered cookie opened: %+v", s)
		}
	}
	if n := th.sessions.m.len(); n != 0 {
		t.Fatalf("%d failed cookies cached", n)
	}
}

func TestCachedSessionsAreRetiredWithTheirKeySet(t *testing.T) {
	c := newSessionCache(8)
	now := time.Unix(1_800_000_000, 0)
	s := &session{Subject: "alice", Expires: now.Add(time.Hour)}
	k1, k2 := &keySet{}, &keySet{}
	c.put("cookie", k1, s, now)
	if c.get("cookie", k1) != s {
		t.Fatal("a cached session was not found")
	}
	if c.get("cookie", k2) != nil {
		t.Fatal("a session opened with an older key set was served")
	}
	if c.get("cookie2", k1) != nil || c.get("cooki", k1) != nil {
		t.Fatal("another cookie value was answered")
	}
	c.put("expired", k1, &session{Subject: "bob", Expires: now}, now)
	if c.get("expired", k1) != nil {
		t.Fatal("an expired session was cached")
	}
}

func TestSessionCacheStaysWithinItsBound(t *testing.T) {
	c := newSessionCache(16)
	now := time.Unix(1_800_000_000, 0)
	keys := &keySet{}
	for i := range 1000 {
		c.put(fmt.Sprint("cookie", i), keys, &session{Subject: "u", Expires: now.Add(time.Hour)}, now)
		if n := c.m.len(); n > 16 {
			t.Fatalf("%d entries after %d puts, bound 16", n, i+1)
		}
	}
	if c.get("cookie999", keys) == nil {
		t.Fatal("the newest entry was evicted")
	}
}

func TestSessionCacheIsSafeForConcurrentUse(t *testing.T) {
	c := newSessionCache(32)
	now := time.Unix(1_800_000_000, 0)
	keys := &keySet{}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				cookie := fmt.Sprint("cookie", (g*7+i)%64)
				if s := c.get(cookie, keys); s != nil && s.Subject != cookie {
					t.Errorf("cookie %s answered with %s", cookie, s.Subject)
					return
				}
				c.put(cookie, keys, &session{Subject: cookie, Expires: now.Add(time.Hour)}, now)
			}
		})
	}
	wg.Wait()
}

// The handler's cache works across a real keyring rotation: the cookie
// still opens (its key is retained) and is opened again, not served from
// the entry made under the old key set.
func TestKeyRotationRetiresCachedSessions(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	s := th.session("urn:otp")
	s.Expires = th.clock.now().Add(48 * time.Hour)
	cookie := th.cookieFor(t, s)
	before := th.sealer.ring.current()
	if th.readSession(request("GET", "http://127.0.0.1/admin", "Cookie", cookie)) == nil || th.sessions.get(cookieValueOf(cookie), before) == nil {
		t.Fatal("session not opened and cached")
	}
	th.clock.add(25 * time.Hour)
	if _, err := th.sealer.ring.ring.Load(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	after := th.sealer.ring.current()
	if after == before {
		t.Fatal("the keys did not rotate")
	}
	if th.sessions.get(cookieValueOf(cookie), after) != nil {
		t.Fatal("an entry from the old key set answered under the new one")
	}
	if th.readSession(request("GET", "http://127.0.0.1/admin", "Cookie", cookie)) == nil {
		t.Fatal("a cookie under a retained key stopped opening")
	}
}

func cookieValueOf(cookie string) string {
	_, v, _ := strings.Cut(cookie, "=")
	return v
}

// Cookie size costs on every hop (issue 7): stepup's own cookies never go
// upstream, whichever way the request passes, unless keep_cookies says so.
func TestOurCookiesAreRemovedBeforeProxyingUnlessKept(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("keep_cookies=%v", keep), func(t *testing.T) {
			th := newTestHandler(t, deadIssuer(t), func(h *Handler) { h.KeepCookies = keep })
			session := th.cookieFor(t, th.session("urn:otp"))
			sent := "theme=dark; " + session + "; stepup_device=AAAAAAAAAAAAAAAAAAAAAA; " + flowCookiePrefix + "abc=1; lang=en"
			for _, path := range []string{"/admin/users", "/public"} {
				out := th.serve(t, request("GET", "http://127.0.0.1"+path, "Cookie", sent))
				if out.upstream == nil {
					t.Fatalf("%s: refused: %d", path, out.rec.Code)
				}
				want := "theme=dark; lang=en"
				if keep {
					want = sent
				}
				if got := out.upstream.Header.Get("Cookie"); got != want {
					t.Errorf("%s: upstream Cookie %q, want %q", path, got, want)
				}
			}
		})
	}
}
