package stepup

import (
	"net/http"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// After a config reload, the new handler finds the session the old one
// opened in the cache they share through the keyring, and does not open
// the cookie again (issue 19 item 3: the first request after a reload
// pays no decryption). It still judges the session by its own rules on
// every request: the cache only saves decrypting.
func TestAHandlerProvisionedByAReloadFindsTheSessionsTheOldOneOpened(t *testing.T) {
	op, _ := countingDiscovery(t)
	st := &certmagic.FileStorage{Path: t.TempDir()}
	old, cancelOld := provisionProduction(t, 1, op.URL, st)
	waitForKeys(t, old[0])
	now := time.Now()
	// Stepped up to urn:otp an hour ago: enough for /admin, too old for
	// /transfer (max_age 5m).
	sealed := sealSession(t, old[0], &session.Session{Subject: "alice", ACR: "urn:otp", AuthTime: now.Add(-time.Hour), Issued: now.Add(-time.Hour), Expires: now.Add(time.Hour)})
	get := func(h *Handler, path string) int {
		th := &testHandler{Handler: h}
		r := request(http.MethodGet, path, "Accept", "text/html", "Sec-Fetch-Mode", "navigate")
		r.Header.Set("Cookie", h.cookies.For(r).Session+"="+sealed)
		return th.serve(t, r).rec.Code
	}
	if code := get(old[0], "/admin/x"); code != http.StatusOK || old[0].sessions.Opens() != 1 {
		t.Fatalf("old handler: status %d after %d opens, want 200 after 1", code, old[0].sessions.Opens())
	}

	// The reload: the new config is provisioned, then the old cleaned up.
	fresh, cancelFresh := provisionProduction(t, 1, op.URL, st)
	defer func() { cancelFresh(); _ = fresh[0].Cleanup() }()
	cancelOld()
	_ = old[0].Cleanup()

	if code := get(fresh[0], "/admin/x"); code != http.StatusOK {
		t.Fatalf("new handler: status %d, want 200", code)
	}
	if n := fresh[0].sessions.Opens(); n != 0 {
		t.Fatalf("the new handler opened the cookie %d times, want 0: it did not find the session the old one opened", n)
	}
	if code := get(fresh[0], "/transfer"); code != http.StatusFound {
		t.Fatalf("new handler, /transfer (max_age 5m, authenticated 1h ago): status %d, want a step-up redirect: a cached session skipped the handler's checks", code)
	}
}

// Handlers on different storages have different keyrings, so different
// caches: a session one opened is not found by the other (which could not
// open it either).
func TestHandlersOnDifferentStoragesDoNotShareOpenedSessions(t *testing.T) {
	a, b := handlersOnTwoStorages(t)
	now := time.Now()
	sealed := sealSession(t, a, &session.Session{Subject: "alice", ACR: "urn:otp", AuthTime: now, Issued: now, Expires: now.Add(time.Hour)})
	r := request(http.MethodGet, "/admin/x")
	r.Header.Set("Cookie", a.cookies.For(r).Session+"="+sealed)
	if s := a.readSession(r); s == nil {
		t.Fatal("the session did not open on its own storage")
	}
	if s := b.readSession(r); s != nil {
		t.Fatal("a session opened on one storage was found by a handler on another")
	}
	if n := b.sessions.Opens(); n != 1 {
		t.Fatalf("the other storage's handler opened the cookie %d times, want 1 (tried, refused)", n)
	}
}
