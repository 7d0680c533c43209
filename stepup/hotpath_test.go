package stepup

// Tests of the request path's optimisations (issue 7): each keeps the
// behaviour of the straightforward code it replaced.

import (
	"fmt"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

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

func TestOpenedSessionsAreCachedAndStillJudgedAtEveryRequest(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	s := th.session("urn:otp", "otp")
	s.Expires = th.clock.Now().Add(10 * time.Minute)
	cookie := th.cookieFor(t, s)
	admin := func() served { return th.serve(t, request("GET", "http://127.0.0.1/admin", "Cookie", cookie)) }
	if out := admin(); out.upstream == nil {
		t.Fatalf("valid session refused: %d", out.rec.Code)
	}
	r := request("GET", "http://127.0.0.1/admin", "Cookie", cookie)
	if a, b := th.readSession(r), th.readSession(r); a == nil || a != b {
		t.Fatal("an opened session was not cached")
	}
	if out := admin(); out.upstream == nil || out.upstream.Header.Get("X-User") != "alice" {
		t.Fatalf("cached session refused or lost its subject: %d", out.rec.Code)
	}
	th.clock.Add(11 * time.Minute)
	if out := admin(); out.upstream != nil {
		t.Fatal("a cached session passed after it expired")
	}
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
