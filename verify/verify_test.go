package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// edge stands in for the plugin in unit tests: a key, a JWKS server that
// counts its fetches, and a signer. The round trip through a real Caddy is
// in the integration module.
type edge struct {
	priv    *ecdsa.PrivateKey
	kid     string
	srv     *httptest.Server
	fetches atomic.Int32
	now     time.Time
}

func newEdge(t testing.TB) *edge {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := &edge{priv: priv, kid: "k1", now: time.Unix(1_800_000_000, 0)}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.fetches.Add(1)
		w.Header().Set("Cache-Control", "public, max-age=300")
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &e.priv.PublicKey, KeyID: e.kid, Algorithm: "ES256", Use: "sig"}}})
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *edge) claims() Claims {
	return Claims{
		Issuer: "https://app.example", Audience: "backend", Subject: "alice", ACR: "urn:mfa", AMR: []string{"pwd", "otp"},
		AuthTime: e.now.Unix() - 60, Rule: "admin", Method: "POST", URL: "https://app.example/admin/users",
		IssuedAt: e.now.Unix(), Expires: e.now.Unix() + 30,
	}
}

func (e *edge) sign(t testing.TB, c Claims, typ, kid string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: e.priv},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)).WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(c)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := jws.CompactSerialize()
	return tok
}

func (e *edge) verifier(t testing.TB, clock *time.Time) *Verifier {
	t.Helper()
	v, err := New(Options{JWKSURL: e.srv.URL, Issuer: "https://app.example", Audience: "backend", Now: func() time.Time { return *clock }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifierAcceptsOnlyAnAssertionForThisRequestAudienceAndTime(t *testing.T) {
	e := newEdge(t)
	clock := e.now
	v := e.verifier(t, &clock)
	good := e.claims()
	tok := e.sign(t, good, MediaType, e.kid)
	ctx := context.Background()
	if c, err := v.Verify(ctx, tok, "POST", good.URL); err != nil || c.Subject != "alice" || c.Rule != "admin" {
		t.Fatalf("valid assertion: %v %+v", err, c)
	}
	tampered := tok[:len(tok)-4] + strings.Map(func(r rune) rune {
		if r == 'A' {
			return 'B'
		}
		return 'A'
	}, tok[len(tok)-4:])
	wrongAud := good
	wrongAud.Audience = "other"
	wrongIss := good
	wrongIss.Issuer = "https://evil.example"
	for name, tc := range map[string]struct {
		token, method, url string
		want               error
	}{
		"tampered signature": {tampered, "POST", good.URL, ErrSignature},
		"wrong audience":     {e.sign(t, wrongAud, MediaType, e.kid), "POST", good.URL, ErrClaims},
		"wrong issuer":       {e.sign(t, wrongIss, MediaType, e.kid), "POST", good.URL, ErrClaims},
		"another path":       {tok, "POST", "https://app.example/admin/other", ErrClaims},
		"another method":     {tok, "GET", good.URL, ErrClaims},
		"another type":       {e.sign(t, good, "JWT", e.kid), "POST", good.URL, ErrMalformed},
		"unknown key id":     {e.sign(t, good, MediaType, "k2"), "POST", good.URL, ErrUnknownKey},
		"not a JWS":          {"not.a.jws", "POST", good.URL, ErrMalformed},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := v.Verify(ctx, tc.token, tc.method, tc.url); !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
		})
	}
	clock = e.now.Add(35 * time.Second) // exp + leeway
	if _, err := v.Verify(ctx, tok, "POST", good.URL); !errors.Is(err, ErrClaims) {
		t.Fatalf("expired assertion: %v", err)
	}
}

func TestUnknownKeyIDsRefetchTheKeysAtMostOncePerMinRefresh(t *testing.T) {
	e := newEdge(t)
	clock := e.now
	v := e.verifier(t, &clock)
	forged := e.sign(t, e.claims(), MediaType, "nope")
	for range 5 {
		if _, err := v.Verify(context.Background(), forged, "POST", e.claims().URL); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("forged kid: %v", err)
		}
	}
	if n := e.fetches.Load(); n != 1 {
		t.Fatalf("%d JWKS fetches for 5 unknown key ids in one instant, want 1", n)
	}
	clock = clock.Add(10 * time.Second)
	e.kid = "nope" // the edge rotated to this key meanwhile
	if _, err := v.Verify(context.Background(), forged, "POST", e.claims().URL); err != nil {
		t.Fatalf("a key published since the last fetch was not picked up: %v", err)
	}
}

func TestMiddlewareRefusesRequestsWithoutAValidAssertion(t *testing.T) {
	e := newEdge(t)
	clock := e.now
	v := e.verifier(t, &clock)
	var got *Claims
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got, _ = FromContext(r.Context()) }))
	serve := func(header string) int {
		r := httptest.NewRequest("POST", "http://backend.internal/admin/users?x=1", nil)
		r.Header.Set("X-User", "mallory")
		if header != "" {
			r.Header.Set(DefaultHeader, header)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	if code := serve(""); code != http.StatusUnauthorized || got != nil {
		t.Fatalf("no assertion: %d", code)
	}
	if code := serve("forged"); code != http.StatusUnauthorized || got != nil {
		t.Fatalf("forged assertion: %d", code)
	}
	if code := serve(e.sign(t, e.claims(), MediaType, e.kid)); code != http.StatusOK || got == nil || got.Subject != "alice" {
		t.Fatalf("valid assertion: %d %+v", code, got)
	}
}
