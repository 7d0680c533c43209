package rogueop

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net/http"
	"testing"
)

// rsaKey and ecKey are signing keys with their key ids.
type rsaKey struct {
	kid  string
	priv *rsa.PrivateKey
}

type ecKey struct {
	kid  string
	priv *ecdsa.PrivateKey
}

// keyRing is what the provider signs with and publishes. The newest RSA
// key signs SignRS256; every key in published is in the JWKS.
type keyRing struct {
	rsa       []rsaKey // published RSA keys, newest last
	ec        ecKey
	published map[string]bool
}

func newKeyRing(t testing.TB) *keyRing {
	t.Helper()
	k := &keyRing{published: map[string]bool{}}
	k.rsa = append(k.rsa, newRSAKey(t))
	k.ec = newECKey(t)
	k.published[k.rsa[0].kid] = true
	k.published[k.ec.kid] = true
	return k
}

func newRSAKey(t testing.TB) rsaKey {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("rogueop: rsa key: %v", err)
	}
	return rsaKey{kid: "rsa-" + randomString(6), priv: priv}
}

func newECKey(t testing.TB) ecKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("rogueop: ec key: %v", err)
	}
	return ecKey{kid: "ec-" + randomString(6), priv: priv}
}

// RSAKeyID is the kid of the RSA key SignRS256 uses.
func (p *Provider) RSAKeyID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys.rsa[len(p.keys.rsa)-1].kid
}

// ECKeyID is the kid of the P-256 key SignES256 uses.
func (p *Provider) ECKeyID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys.ec.kid
}

// RotateRSAKey publishes a new RSA key, signs with it from now on and
// returns its kid. With retireOld the previous RSA keys leave the JWKS, so
// tokens they signed no longer verify.
func (p *Provider) RotateRSAKey(retireOld bool) string {
	k := newRSAKey(p.t)
	p.mu.Lock()
	defer p.mu.Unlock()
	if retireOld {
		for _, old := range p.keys.rsa {
			delete(p.keys.published, old.kid)
		}
		p.keys.rsa = p.keys.rsa[:0]
	}
	p.keys.rsa = append(p.keys.rsa, k)
	p.keys.published[k.kid] = true
	return k.kid
}

// RSAPublicKeyPEM is the current RSA public key as a PKIX PEM block, the
// bytes a confused verifier might use as an HMAC secret.
func (p *Provider) RSAPublicKeyPEM() []byte {
	p.mu.Lock()
	pub := &p.keys.rsa[len(p.keys.rsa)-1].priv.PublicKey
	p.mu.Unlock()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		p.t.Fatalf("rogueop: marshal public key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// RSAPublicJWK is the current RSA public key as its JWKS JSON member, the
// other text a confused verifier might use as an HMAC secret.
func (p *Provider) RSAPublicJWK() map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := p.keys.rsa[len(p.keys.rsa)-1]
	return rsaJWK(k.kid, &k.priv.PublicKey)
}

func (p *Provider) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	var keys []map[string]any
	for _, k := range p.keys.rsa {
		if p.keys.published[k.kid] {
			keys = append(keys, rsaJWK(k.kid, &k.priv.PublicKey))
		}
	}
	if p.keys.published[p.keys.ec.kid] {
		keys = append(keys, ecJWK(p.keys.ec.kid, &p.keys.ec.priv.PublicKey))
	}
	p.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func rsaJWK(kid string, pub *rsa.PublicKey) map[string]any {
	return map[string]any{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
	}
}

func ecJWK(kid string, pub *ecdsa.PublicKey) map[string]any {
	// Raw X and Y, each left-padded to the curve size (RFC 7518 §6.2.1.2).
	raw, _ := pub.Bytes() // 0x04 | X | Y
	size := (len(raw) - 1) / 2
	return map[string]any{
		"kty": "EC", "use": "sig", "alg": "ES256", "kid": kid, "crv": "P-256",
		"x": b64(raw[1 : 1+size]), "y": b64(raw[1+size:]),
	}
}

// SigningKey is the current RSA private key and its kid, for tests that
// keep a key to sign with after rotating it out.
func (p *Provider) SigningKey() (*rsa.PrivateKey, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := p.keys.rsa[len(p.keys.rsa)-1]
	return k.priv, k.kid
}
