package hydra

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/http"
	"testing"
)

// Hydra's key sets: ID tokens are signed with the first, JWT access tokens
// with the second. Both are published at /.well-known/jwks.json.
const (
	IDTokenKeySet     = "hydra.openid.id-token"
	AccessTokenKeySet = "hydra.jwt.access-token"
)

// jwks is a JSON Web Key Set as far as we need it.
type jwks struct {
	Keys []struct {
		KeyID string `json:"kid"`
	} `json:"keys"`
}

// installSigningKey adds a new RS256 signing key with a fresh kid to both
// key sets and returns the kid. Hydra signs with the newest private key of
// a set (ordered by created_at, newest first), so it takes effect at once.
//
// The key is generated here, 2048-bit, and imported with
// PUT /admin/keys/{set}/{kid}: Hydra's own generation (POST /admin/keys/{set}
// or lazily on first use) makes 4096-bit RSA keys, which costs seconds of
// CPU per key set on a small machine.
func (s *Server) installSigningKey() (string, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", err
	}
	kid := "stepup-" + randomHex(8)
	jwk := privateJWK(priv, kid)
	for _, set := range []string{IDTokenKeySet, AccessTokenKeySet} {
		if err := s.adminJSON(http.MethodPut, "/admin/keys/"+set+"/"+kid, jwk, nil); err != nil {
			return "", err
		}
		var got jwks
		if err := s.adminJSON(http.MethodGet, "/admin/keys/"+set, nil, &got); err != nil {
			return "", err
		}
		if len(got.Keys) == 0 || got.Keys[0].KeyID != kid {
			return "", fmt.Errorf("new key %s is not the newest in %s: %+v", kid, set, got.Keys)
		}
	}
	s.mu.Lock()
	s.kid = kid
	s.mu.Unlock()
	return kid, nil
}

// RotateSigningKey makes Hydra sign all further ID tokens and JWT access
// tokens with a brand-new key and returns its kid. The old keys stay in the
// key sets and in /.well-known/jwks.json, so tokens issued before still
// verify; Hydra never retires keys by itself.
func (s *Server) RotateSigningKey(t testing.TB) (kid string) {
	t.Helper()
	kid, err := s.installSigningKey()
	if err != nil {
		t.Fatalf("hydra.RotateSigningKey: %v", err)
	}
	return kid
}

// SigningKeyID is the kid Hydra currently signs tokens with.
func (s *Server) SigningKeyID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.kid
}

// PublishedKeyIDs returns the kids in the public JWKS document.
func (s *Server) PublishedKeyIDs(t testing.TB) []string {
	t.Helper()
	resp, err := http.Get(s.PublicURL() + "/.well-known/jwks.json")
	if err != nil {
		t.Fatalf("hydra jwks: %v", err)
	}
	defer resp.Body.Close()
	var got jwks
	if err := decodeJSON(resp, &got); err != nil {
		t.Fatalf("hydra jwks: %v", err)
	}
	kids := make([]string, 0, len(got.Keys))
	for _, k := range got.Keys {
		kids = append(kids, k.KeyID)
	}
	return kids
}

// privateJWK encodes an RSA private key as a JWK (RFC 7518 §6.3).
func privateJWK(k *rsa.PrivateKey, kid string) map[string]string {
	k.Precompute()
	b64 := func(i *big.Int) string { return base64.RawURLEncoding.EncodeToString(i.Bytes()) }
	return map[string]string{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
		"n": b64(k.N), "e": b64(big.NewInt(int64(k.E))), "d": b64(k.D),
		"p": b64(k.Primes[0]), "q": b64(k.Primes[1]),
		"dp": b64(k.Precomputed.Dp), "dq": b64(k.Precomputed.Dq), "qi": b64(k.Precomputed.Qinv),
	}
}
