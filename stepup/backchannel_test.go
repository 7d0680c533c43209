package stepup

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/caddy-stepup/caddy-stepup/stepup/provider"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// logoutIdP signs logout tokens for a handler whose provider is already
// "discovered": no network, the handler's clock.
type logoutIdP struct {
	issuer string
	key    crypto.Signer
	clock  *clock
}

func withLogoutIdP(tb testing.TB, th *testHandler) *logoutIdP {
	tb.Helper()
	idp := &logoutIdP{issuer: th.Provider.Issuer, key: rsaKeyOnce(), clock: th.clock}
	keys := &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{idp.key.Public()}}
	th.idp = provider.Static(th.idpKey(), keys, []string{"RS256"}, th.clock.Now)
	return idp
}

// claims are a valid logout token's claims for sid; edit them to break it.
func (idp *logoutIdP) claims(sub, sid string) map[string]any {
	now := idp.clock.Now()
	c := map[string]any{
		"iss": idp.issuer, "aud": []string{"edge"}, "iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
		"jti":    fmt.Sprintf("jti-%d-%s-%s", now.UnixNano(), sub, sid),
		"events": map[string]any{provider.BackchannelLogoutEvent: map[string]any{}},
	}
	if sub != "" {
		c["sub"] = sub
	}
	if sid != "" {
		c["sid"] = sid
	}
	return c
}

func (idp *logoutIdP) sign(tb testing.TB, key crypto.Signer, claims map[string]any) string {
	tb.Helper()
	payload, _ := json.Marshal(claims)
	return signedJWT(tb, jose.RS256, key, "logout+jwt", payload)
}

func logoutRequest(token string) *http.Request {
	r := request("POST", "http://127.0.0.1/.stepup/backchannel-logout", "Content-Type", "application/x-www-form-urlencoded")
	r.Body = http.NoBody
	if token != "" {
		body := url.Values{"logout_token": {token}}.Encode()
		r = request("POST", "http://127.0.0.1/.stepup/backchannel-logout", "Content-Type", "application/x-www-form-urlencoded")
		r.Body = readCloser(body)
		r.ContentLength = int64(len(body))
	}
	return r
}

type stringBody struct{ *strings.Reader }

func (stringBody) Close() error { return nil }

func readCloser(s string) stringBody { return stringBody{strings.NewReader(s)} }

func newLogoutHandler(t *testing.T) (*testHandler, *logoutIdP) {
	th := newTestHandler(t, "https://idp.example/"+t.Name(), func(h *Handler) {
		h.BackchannelLogoutPath = "/.stepup/backchannel-logout"
	})
	t.Cleanup(func() { _ = th.Cleanup() })
	return th, withLogoutIdP(t, th)
}

// passes reports whether a session cookie for s reaches the upstream on a
// route a rule covers.
func (th *testHandler) passes(t *testing.T, s *session.Session) bool {
	t.Helper()
	cookie := th.cookieFor(t, s)
	return th.serve(t, request("GET", "http://127.0.0.1/admin", "Cookie", cookie)).upstream != nil
}

func TestBackchannelLogoutEndsTheSessionItNamesAndNoOther(t *testing.T) {
	th, idp := newLogoutHandler(t)
	mine, other := th.session("urn:otp"), th.session("urn:otp")
	mine.SID, other.SID = "sid-1", "sid-2"
	if !th.passes(t, mine) || !th.passes(t, other) {
		t.Fatal("sessions do not pass before the logout")
	}
	res := th.serve(t, logoutRequest(idp.sign(t, idp.key, idp.claims("alice", "sid-1"))))
	if res.rec.Code != http.StatusOK {
		t.Fatalf("valid logout token: %d", res.rec.Code)
	}
	if th.passes(t, mine) {
		t.Error("the session the logout named still passes")
	}
	if !th.passes(t, other) {
		t.Error("another session of the same user was ended by a sid logout")
	}
	th.clock.Add(2 * time.Second)
	later := th.session("urn:otp")
	later.SID = "sid-1"
	if !th.passes(t, later) {
		t.Error("a session issued after the logout is refused")
	}
}

func TestBackchannelLogoutBySubjectEndsAllItsSessions(t *testing.T) {
	th, idp := newLogoutHandler(t)
	a, b := th.session("urn:otp"), th.session("urn:otp")
	a.SID, b.SID = "s-a", ""
	res := th.serve(t, logoutRequest(idp.sign(t, idp.key, idp.claims("alice", ""))))
	if res.rec.Code != http.StatusOK {
		t.Fatalf("valid logout token: %d", res.rec.Code)
	}
	if th.passes(t, a) || th.passes(t, b) {
		t.Error("a session of the logged-out subject still passes")
	}
}

func TestBadLogoutTokensAreRefusedAndChangeNothing(t *testing.T) {
	th, idp := newLogoutHandler(t)
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := th.session("urn:otp")
	s.SID = "sid-1"
	replayed := idp.sign(t, idp.key, idp.claims("bob", "sid-bob"))
	if code := th.serve(t, logoutRequest(replayed)).rec.Code; code != http.StatusOK {
		t.Fatalf("first use of the replayed token: %d", code)
	}
	edit := func(f func(c map[string]any)) string {
		c := idp.claims("alice", "sid-1")
		f(c)
		return idp.sign(t, idp.key, c)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	unsignedClaims, _ := json.Marshal(idp.claims("alice", "sid-1"))
	for _, tc := range []struct{ name, token string }{
		{"malformed", "not.a.jwt"},
		{"garbage", "%%%"},
		{"unsigned", b64([]byte(`{"alg":"none","typ":"logout+jwt"}`)) + "." + b64(unsignedClaims) + "."},
		{"wrongly signed", idp.sign(t, otherKey, idp.claims("alice", "sid-1"))},
		{"replayed jti", replayed},
		{"expired", edit(func(c map[string]any) { c["exp"] = idp.clock.Now().Add(-time.Minute).Unix() })},
		{"issued long ago", edit(func(c map[string]any) {
			c["iat"] = idp.clock.Now().Add(-time.Hour).Unix()
			delete(c, "exp")
		})},
		{"issued in the future", edit(func(c map[string]any) { c["iat"] = idp.clock.Now().Add(time.Hour).Unix() })},
		{"nonce-carrying", edit(func(c map[string]any) { c["nonce"] = "n" })},
		{"wrong audience", edit(func(c map[string]any) { c["aud"] = []string{"someone-else"} })},
		{"wrong issuer", edit(func(c map[string]any) { c["iss"] = "https://evil.example" })},
		{"no events", edit(func(c map[string]any) { delete(c, "events") })},
		{"other event", edit(func(c map[string]any) { c["events"] = map[string]any{"urn:other": map[string]any{}} })},
		{"event not an object", edit(func(c map[string]any) { c["events"] = map[string]any{provider.BackchannelLogoutEvent: "x"} })},
		{"no jti", edit(func(c map[string]any) { delete(c, "jti") })},
		{"no iat", edit(func(c map[string]any) { delete(c, "iat") })},
		{"neither sub nor sid", edit(func(c map[string]any) { delete(c, "sub"); delete(c, "sid") })},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code := th.serve(t, logoutRequest(tc.token)).rec.Code; code != http.StatusBadRequest {
				t.Errorf("status %d, want 400", code)
			}
			if !th.passes(t, s) {
				t.Error("the session no longer passes: the refused token changed something")
			}
		})
	}
	t.Run("GET", func(t *testing.T) {
		if code := th.serve(t, request("GET", "http://127.0.0.1/.stepup/backchannel-logout")).rec.Code; code != http.StatusMethodNotAllowed {
			t.Errorf("status %d, want 405", code)
		}
	})
	t.Run("not a form", func(t *testing.T) {
		r := logoutRequest(replayed)
		r.Header.Set("Content-Type", "application/json")
		if code := th.serve(t, r).rec.Code; code != http.StatusBadRequest {
			t.Errorf("status %d, want 400", code)
		}
	})
}

func TestBackchannelLogoutIsOffUnlessConfigured(t *testing.T) {
	th := newTestHandler(t, "https://idp.example/"+t.Name(), func(h *Handler) { h.InsecureLoopbackHTTP = false })
	t.Cleanup(func() { _ = th.Cleanup() })
	res := th.serve(t, logoutRequest("x"))
	if res.upstream == nil {
		t.Errorf("without backchannel_logout_path the request did not go upstream (status %d)", res.rec.Code)
	}
}
