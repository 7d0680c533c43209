package session

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/testclock"
)

// testStore is a store over a fresh storage on clock c, for HTTPS requests
// and plain HTTP to loopback (insecure_loopback_http on).
func testStore(t *testing.T, c *testclock.Clock, opts ...Option) *Store {
	t.Helper()
	ring := NewKeyring(testStorage(t), 24*time.Hour, c.Now)
	cookies := NewCookies(Names{Session: "stepup", FlowPrefix: "stepup_flow_", FlowNext: "stepup_flow_next", Device: "stepup_device"}, true)
	return NewStore(NewSealer(ring, "https://idp\x00client", flowPurpose), cookies, append([]Option{WithClock(c.Now)}, opts...)...)
}

func testSession(c *testclock.Clock, sub, acr string, amr ...string) *Session {
	now := c.Now()
	return &Session{Subject: sub, ACR: acr, AMR: amr, AuthTime: now, Issued: now, Expires: now.Add(time.Hour)}
}

// cookieRequest is a plain-HTTP loopback request carrying cookie.
func cookieRequest(cookie string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/admin", nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	return r
}

// written is the session cookie st.Write sets for s on r.
func written(t *testing.T, st *Store, r *http.Request, s *Session) *http.Cookie {
	t.Helper()
	rec := httptest.NewRecorder()
	if err := st.Write(rec, r, s); err != nil {
		t.Fatal(err)
	}
	cookies := rec.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("Write set %d cookies, want 1", len(cookies))
	}
	return cookies[0]
}

func TestWrittenSessionReadsBackOnTheSameKindOfRequest(t *testing.T) {
	c := testclock.New(time.Unix(1_800_000_000, 0))
	st := testStore(t, c)
	in := testSession(c, "alice", "urn:otp", "pwd", "otp")
	plain := written(t, st, cookieRequest(""), in)
	if plain.Name != "stepup" || plain.Secure || !plain.HttpOnly || plain.SameSite != http.SameSiteLaxMode || plain.Path != "/" {
		t.Fatalf("plain-HTTP loopback cookie: %+v", plain)
	}
	out, err := st.Read(cookieRequest(plain.Name + "=" + plain.Value))
	if err != nil || out == nil || out.Subject != "alice" || out.ACR != "urn:otp" || strings.Join(out.AMR, " ") != "pwd otp" {
		t.Fatalf("Read = %+v, %v", out, err)
	}

	https := httptest.NewRequest(http.MethodGet, "https://app.example/admin", nil)
	https.TLS = &tls.ConnectionState{}
	secure := written(t, st, https, in)
	if secure.Name != "__Host-stepup" || !secure.Secure {
		t.Fatalf("HTTPS cookie: %+v", secure)
	}
	https.Header.Set("Cookie", "stepup="+secure.Value)
	if s, _ := st.Read(https); s != nil {
		t.Fatal("an unprefixed session cookie was read over HTTPS")
	}
	https.Header.Set("Cookie", "__Host-stepup="+secure.Value)
	if s, _ := st.Read(https); s == nil {
		t.Fatal("the __Host- session cookie was not read over HTTPS")
	}
}

func TestClearedSessionCookieExpiresAtOnce(t *testing.T) {
	st := testStore(t, testclock.New(time.Unix(1_800_000_000, 0)))
	rec := httptest.NewRecorder()
	st.Clear(rec, cookieRequest(""))
	c := rec.Result().Cookies()
	if len(c) != 1 || c[0].Name != "stepup" || c[0].MaxAge >= 0 || c[0].Value != "" {
		t.Fatalf("Clear set %+v", c)
	}
}

func TestNoSessionCookieIsNoSessionAndNoError(t *testing.T) {
	st := testStore(t, testclock.New(time.Unix(1_800_000_000, 0)))
	for _, cookie := range []string{"", "theme=dark", "stepup="} {
		if s, err := st.Read(cookieRequest(cookie)); s != nil || err != nil {
			t.Fatalf("Cookie %q: %+v, %v", cookie, s, err)
		}
	}
}

// Read decodes in a recycled buffer; a session read earlier must keep its
// claims when the buffer is reused for another cookie.
func TestSessionsOpenedInARecycledBufferKeepTheirClaims(t *testing.T) {
	c := testclock.New(time.Unix(1_800_000_000, 0))
	st := testStore(t, c, WithCacheSize(0)) // every read opens the cookie
	read := func(sub, acr string, amr ...string) *Session {
		sealed, err := st.Seal(context.Background(), testSession(c, sub, acr, amr...))
		if err != nil {
			t.Fatal(err)
		}
		s, err := st.Read(cookieRequest("stepup=" + sealed))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := read("alice", "urn:otp", "pwd", "otp")
	for i := range 50 {
		read(fmt.Sprintf("mallory-%d-with-a-longer-subject", i), "urn:pwd", "x", "y", "z")
	}
	if first.Subject != "alice" || first.ACR != "urn:otp" || strings.Join(first.AMR, " ") != "pwd otp" {
		t.Fatalf("an earlier session changed: %+v", first)
	}
}

func TestCookiesThatDoNotOpenAreRefusedAndNeverCached(t *testing.T) {
	c := testclock.New(time.Unix(1_800_000_000, 0))
	st := testStore(t, c)
	value, err := st.Seal(context.Background(), testSession(c, "alice", "urn:otp"))
	if err != nil {
		t.Fatal(err)
	}
	keys := st.sealer.ring.current()
	// other replaces the character at i by a different one: replacing it
	// by a fixed one left the cookie as it was whenever it already was
	// that one (one run in 64). Not the last character, whose low bits
	// may be padding the decoder ignores.
	other := func(i int) string {
		c := byte('A')
		if value[i] == c {
			c = 'g'
		}
		return value[:i] + string(c) + value[i+1:]
	}
	for _, bad := range []string{
		other(len(value) - 5), // tag
		other(20),
		"garbage", strings.Repeat("A", 400),
	} {
		s, err := st.Read(cookieRequest("stepup=" + bad))
		if s != nil || !errors.Is(err, ErrSealed) {
			t.Fatalf("a tampered cookie: %+v, %v; want ErrSealed", s, err)
		}
		if st.cache.get(st.sealer.aad, bad, keys) != nil {
			t.Fatal("a cookie that did not open was cached")
		}
	}
	// Sealed by us but not a session we could have written.
	odd, err := st.sealer.Seal(context.Background(), sessionPurpose, []byte{sessionCodecVersion + 1})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := st.Read(cookieRequest("stepup=" + odd)); s != nil || !errors.Is(err, ErrFormat) {
		t.Fatalf("an unknown codec version: %+v, %v; want ErrFormat", s, err)
	}
}

func TestExpiredSessionIsReturnedForTheCallerToJudge(t *testing.T) {
	c := testclock.New(time.Unix(1_800_000_000, 0))
	st := testStore(t, c)
	sealed, err := st.Seal(context.Background(), testSession(c, "alice", "urn:otp"))
	if err != nil {
		t.Fatal(err)
	}
	r := cookieRequest("stepup=" + sealed)
	if a, b := mustRead(t, st, r), mustRead(t, st, r); a != b {
		t.Fatal("a session opened twice was not served from the cache")
	}
	c.Add(2 * time.Hour)
	if s := mustRead(t, st, r); s == nil || s.Valid(c.Now()) {
		t.Fatalf("after expiry: %+v, want the session, no longer valid", s)
	}
}

func mustRead(t *testing.T, st *Store, r *http.Request) *Session {
	t.Helper()
	s, err := st.Read(r)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The cache works across a real keyring rotation: the cookie still opens
// (its key is retained) and is opened again, not served from the entry
// made under the old key set.
func TestKeyRotationRetiresCachedSessions(t *testing.T) {
	c := testclock.New(time.Unix(1_800_000_000, 0))
	st := testStore(t, c)
	s := testSession(c, "alice", "urn:otp")
	s.Expires = c.Now().Add(48 * time.Hour)
	sealed, err := st.Seal(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	r := cookieRequest("stepup=" + sealed)
	before := st.sealer.ring.current()
	if mustRead(t, st, r) == nil || st.cache.get(st.sealer.aad, sealed, before) == nil {
		t.Fatal("session not opened and cached")
	}
	c.Add(25 * time.Hour)
	if _, err := st.sealer.ring.ring.Load(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	after := st.sealer.ring.current()
	if after == before {
		t.Fatal("the keys did not rotate")
	}
	if st.cache.get(st.sealer.aad, sealed, after) != nil {
		t.Fatal("an entry from the old key set answered under the new one")
	}
	if mustRead(t, st, r) == nil {
		t.Fatal("a cookie under a retained key stopped opening")
	}
}
