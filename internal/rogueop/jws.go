package rogueop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
)

// JWTs are assembled by hand (compact JWS, RFC 7515 §7.1) rather than with a
// JOSE library, because the point is to produce the tokens such libraries
// refuse to make: "alg":"none", HMAC keyed with a public key, a valid
// signature under a key nobody published.

// SignRS256 signs claims with the provider's current, published RSA key.
func (p *Provider) SignRS256(c Claims) string {
	p.mu.Lock()
	k := p.keys.rsa[len(p.keys.rsa)-1]
	p.mu.Unlock()
	return SignRS256(k.priv, k.kid, c)
}

// SignRS256AccessToken signs claims with the provider's current RSA key as
// a JWT access token: typed at+jwt (RFC 9068 §2.1).
func (p *Provider) SignRS256AccessToken(c Claims) string {
	return p.SignRS256Typed("at+jwt", c)
}

// SignRS256Typed signs claims with the provider's current RSA key and the
// header's typ set to typ (omitted when empty).
func (p *Provider) SignRS256Typed(typ string, c Claims) string {
	p.mu.Lock()
	k := p.keys.rsa[len(p.keys.rsa)-1]
	p.mu.Unlock()
	return SignRS256Typed(k.priv, k.kid, typ, c)
}

// SignES256 signs claims with the provider's published P-256 key.
func (p *Provider) SignES256(c Claims) string {
	p.mu.Lock()
	k := p.keys.ec
	p.mu.Unlock()
	return SignES256(k.priv, k.kid, c)
}

// SignRS256 signs claims with any RSA key under the given kid: with a key
// that is not published, a forgery that claims a published kid.
func SignRS256(priv *rsa.PrivateKey, kid string, c Claims) string {
	return SignRS256Typed(priv, kid, "JWT", c)
}

// SignRS256Typed is SignRS256 with the header's typ set to typ (omitted
// when empty).
func SignRS256Typed(priv *rsa.PrivateKey, kid, typ string, c Claims) string {
	header := map[string]any{"alg": "RS256", "kid": kid}
	if typ != "" {
		header["typ"] = typ
	}
	return compact(header, c, func(in []byte) []byte {
		sum := sha256.Sum256(in)
		sig, err := rsa.SignPKCS1v15(rand.Reader, priv, crypto.SHA256, sum[:])
		if err != nil {
			panic("rogueop: rsa sign: " + err.Error())
		}
		return sig
	})
}

// SignES256 signs claims with any P-256 key under the given kid; the
// signature is R || S, 32 bytes each (RFC 7518 §3.4).
func SignES256(priv *ecdsa.PrivateKey, kid string, c Claims) string {
	return compact(map[string]any{"alg": "ES256", "typ": "JWT", "kid": kid}, c, func(in []byte) []byte {
		sum := sha256.Sum256(in)
		r, s, err := ecdsa.Sign(rand.Reader, priv, sum[:])
		if err != nil {
			panic("rogueop: ecdsa sign: " + err.Error())
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig
	})
}

// SignHS256 MACs claims with secret under the given kid: with the RSA
// public key as the secret, the classic algorithm-confusion forgery.
func SignHS256(secret []byte, kid string, c Claims) string {
	return compact(map[string]any{"alg": "HS256", "typ": "JWT", "kid": kid}, c, func(in []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(in)
		return m.Sum(nil)
	})
}

// Unsigned is an "alg":"none" JWT with an empty signature.
func Unsigned(c Claims) string {
	return compact(map[string]any{"alg": "none", "typ": "JWT"}, c, func([]byte) []byte { return nil })
}

// compact builds header.payload.signature.
func compact(header map[string]any, c Claims, sign func(signingInput []byte) []byte) string {
	h, err := json.Marshal(header)
	if err != nil {
		panic(err)
	}
	body, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	in := b64(h) + "." + b64(body)
	return in + "." + b64(sign([]byte(in)))
}
