package stepup

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"

	"github.com/caddy-stepup/caddy-stepup/stepup/provider"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// countingKeys is the IdP's key set, counting signature verifications.
type countingKeys struct {
	oidc.StaticKeySet
	checks atomic.Int64
}

func (k *countingKeys) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	k.checks.Add(1)
	return k.StaticKeySet.VerifySignature(ctx, jwt)
}

// bearerIdP issues access tokens for a handler that accepts them, with the
// provider already "discovered": no network, the handler's clock.
type bearerIdP struct {
	issuer string
	alg    jose.SignatureAlgorithm
	key    crypto.Signer
	keys   *countingKeys
	clock  *clock
}

var rsaKeyOnce = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// withBearerIdP makes h accept the tokens of an IdP signing with alg
// (RS256 or ES256) and returns that IdP. Call after Provision.
func withBearerIdP(tb testing.TB, h *Handler, c *clock, alg jose.SignatureAlgorithm) *bearerIdP {
	tb.Helper()
	var key crypto.Signer = rsaKeyOnce()
	if alg == jose.ES256 {
		ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		key = ec
	}
	idp := &bearerIdP{issuer: h.Provider.Issuer, alg: alg, key: key, clock: c,
		keys: &countingKeys{StaticKeySet: oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{key.Public()}}}}
	h.idp = provider.Static(h.idpKey(), idp.keys, []string{string(alg)}, c.Now)
	return idp
}

// token is an access token for sub, audience aud, valid for ttl, the way
// Hydra issues them (acr, amr, auth_time included).
func (idp *bearerIdP) token(tb testing.TB, sub, aud string, ttl time.Duration) string {
	tb.Helper()
	return idp.typedToken(tb, "at+jwt", sub, aud, ttl)
}

// typedToken is token with the JWT header's typ set to typ.
func (idp *bearerIdP) typedToken(tb testing.TB, typ, sub, aud string, ttl time.Duration) string {
	tb.Helper()
	now := idp.clock.Now()
	claims, _ := json.Marshal(map[string]any{
		"iss": idp.issuer, "sub": sub, "aud": []string{aud}, "client_id": "api-client",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(ttl).Unix(), "jti": fmt.Sprint(now.UnixNano(), sub),
		"scp": []string{"openid", "offline"}, "acr": "urn:otp", "amr": []string{"pwd", "otp"}, "auth_time": now.Unix(),
	})
	return signedJWT(tb, idp.alg, idp.key, typ, claims)
}

// signedJWT is payload signed with key by alg, compact-serialized, with kid
// k1 and typ in the header: the tokens the test IdPs (bearer and logout)
// hand out.
func signedJWT(tb testing.TB, alg jose.SignatureAlgorithm, key crypto.Signer, typ string, payload []byte) string {
	tb.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		tb.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func newBearerHandler(t *testing.T) (*testHandler, *bearerIdP) {
	th := newTestHandler(t, "https://idp.example/"+t.Name(), func(h *Handler) {
		h.InsecureLoopbackHTTP = false
		h.BearerAudiences = []string{"api"}
	})
	t.Cleanup(func() { _ = th.Cleanup() })
	return th, withBearerIdP(t, th.Handler, th.clock, jose.RS256)
}

func (th *testHandler) verify(t *testing.T, token string) (*session.Session, error) {
	t.Helper()
	return th.verifyBearer(request("GET", "https://app.example/api"), token)
}

func TestVerifiedBearerTokenIsNotVerifiedAgain(t *testing.T) {
	th, idp := newBearerHandler(t)
	tok := idp.token(t, "alice", "api", time.Hour)
	for range 3 {
		s, err := th.verify(t, tok)
		if err != nil || s.Subject != "alice" || s.ACR != "urn:otp" {
			t.Fatalf("verify = %+v, %v", s, err)
		}
	}
	if n := idp.keys.checks.Load(); n != 1 {
		t.Fatalf("%d signature checks for one token, want 1", n)
	}
}

func TestCachedBearerTokenExpiresWithTheToken(t *testing.T) {
	th, idp := newBearerHandler(t)
	tok := idp.token(t, "alice", "api", 2*time.Minute)
	if _, err := th.verify(t, tok); err != nil {
		t.Fatal(err)
	}
	th.clock.Add(2*time.Minute + time.Second)
	if s, err := th.verify(t, tok); err == nil {
		t.Fatalf("an expired token was accepted from the cache: %+v", s)
	}
}

func TestBearerTokenIsVerifiedAgainAfterTheCacheMaxAge(t *testing.T) {
	th, idp := newBearerHandler(t)
	tok := idp.token(t, "alice", "api", time.Hour)
	if _, err := th.verify(t, tok); err != nil {
		t.Fatal(err)
	}
	th.clock.Add(bearerCacheMaxAge)
	if _, err := th.verify(t, tok); err != nil {
		t.Fatal(err)
	}
	if n := idp.keys.checks.Load(); n != 2 {
		t.Fatalf("%d signature checks, want 2 (once more after %s)", n, bearerCacheMaxAge)
	}
}

func TestRefusedBearerTokensAreNotCached(t *testing.T) {
	th, idp := newBearerHandler(t)
	other := &bearerIdP{issuer: idp.issuer, alg: jose.RS256, clock: th.clock}
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other.key = otherKey
	for name, tok := range map[string]string{
		"another audience": idp.token(t, "alice", "not-us", time.Hour),
		"another key":      other.token(t, "alice", "api", time.Hour),
	} {
		t.Run(name, func(t *testing.T) {
			before := idp.keys.checks.Load()
			for range 2 {
				if s, err := th.verify(t, tok); err == nil {
					t.Fatalf("refused token accepted: %+v", s)
				}
			}
			if n := idp.keys.checks.Load() - before; n != 2 {
				t.Fatalf("%d signature checks for two attempts, want 2 (a failure is never cached)", n)
			}
			if th.bearers.get(bearerKey(tok), th.clock.Now()) != nil {
				t.Fatal("a refused token is cached")
			}
		})
	}
}

func TestADifferentBearerTokenIsVerifiedOnItsOwn(t *testing.T) {
	th, idp := newBearerHandler(t)
	a, b := idp.token(t, "alice", "api", time.Hour), idp.token(t, "bob", "api", time.Hour)
	for _, tc := range []struct{ tok, sub string }{{a, "alice"}, {b, "bob"}, {a, "alice"}, {b, "bob"}} {
		if s, err := th.verify(t, tc.tok); err != nil || s.Subject != tc.sub {
			t.Fatalf("verify = %+v, %v; want %s", s, err, tc.sub)
		}
	}
	if n := idp.keys.checks.Load(); n != 2 {
		t.Fatalf("%d signature checks for two tokens used twice, want 2", n)
	}
}

func TestBearerCacheStaysWithinItsBound(t *testing.T) {
	th, idp := newBearerHandler(t)
	th.bearers = newBearerCache(8)
	var last string
	var seen []string
	for i := range 40 {
		last = idp.token(t, fmt.Sprint("user", i), "api", time.Hour)
		if _, err := th.verify(t, last); err != nil {
			t.Fatal(err)
		}
		seen = append(seen, last)
		cached := 0
		for _, tok := range seen {
			if th.bearers.get(bearerKey(tok), th.clock.Now()) != nil {
				cached++
			}
		}
		if cached > 8 {
			t.Fatalf("%d cached tokens, bound 8", cached)
		}
	}
	before := idp.keys.checks.Load()
	if _, err := th.verify(t, last); err != nil || idp.keys.checks.Load() != before {
		t.Fatalf("the newest token was not cached (%v)", err)
	}
}

func TestBearerCacheIsSafeForConcurrentUse(t *testing.T) {
	th, idp := newBearerHandler(t)
	th.bearers = newBearerCache(4)
	var tokens []string
	for i := range 6 {
		tokens = append(tokens, idp.token(t, fmt.Sprint("user", i), "api", time.Hour))
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				n := (g + i) % len(tokens)
				s, err := th.verifyBearer(request("GET", "https://app.example/api"), tokens[n])
				if err != nil || s.Subject != fmt.Sprint("user", n) {
					t.Errorf("token %d: %+v, %v", n, s, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestBearerTokenPassesAProtectedRouteFromTheCache(t *testing.T) {
	th, idp := newBearerHandler(t)
	tok := idp.token(t, "alice", "api", time.Hour)
	for range 2 {
		out := th.serve(t, request("GET", "https://app.example/admin", "Authorization", "Bearer "+tok))
		if out.upstream == nil || out.upstream.Header.Get("X-User") != "alice" {
			t.Fatalf("bearer token refused: %d %s", out.rec.Code, out.rec.Body)
		}
	}
	if n := idp.keys.checks.Load(); n != 1 {
		t.Fatalf("%d signature checks, want 1", n)
	}
}

// BenchmarkBearer compares a token's first verification (public-key
// signature, claims) with the cached check that replaces it on every later
// request. Target (issue 7): cached ≤ 5 µs.
func BenchmarkBearer(b *testing.B) {
	for _, alg := range []jose.SignatureAlgorithm{jose.RS256, jose.ES256} {
		for _, cached := range []bool{false, true} {
			name := "verify_" + string(alg)
			if cached {
				name = "cached_" + string(alg)
			}
			b.Run(name, func(b *testing.B) {
				h, c := benchHandler(b, func(h *Handler) { h.BearerAudiences = []string{"api"} })
				idp := withBearerIdP(b, h, c, alg)
				tok := idp.token(b, "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", "api", time.Hour)
				if !cached {
					h.bearers = nil
				}
				r := browserRequest(h, "/api", "", "")
				b.ReportAllocs()
				for b.Loop() {
					if _, err := h.verifyBearer(r, tok); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(tok)), "token-bytes")
			})
		}
	}
}
