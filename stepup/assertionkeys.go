package stepup

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"filippo.io/bigmod"
	"github.com/caddyserver/certmagic"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/keystore"
)

// assertionKeysStorageKey is where the assertion signing keys live in
// Caddy's storage: replicas sharing the storage sign with the same keys and
// publish the same JWKS.
const assertionKeysStorageKey = "stepup/assertion_keys.json"

// assertionKeyLead is how long a new signing key is published before it
// signs, at most. Replicas learn of it when their own copy of the key set
// falls due, and verifiers refetch the JWKS (its max-age is half of this),
// so by the time the key signs everyone already knows it.
const assertionKeyLead = 10 * time.Minute

// assertionKeySkew covers clocks of replicas and verifiers that disagree a
// little: a retired key stays published this much longer than the longest
// an assertion it signed can live.
const assertionKeySkew = time.Minute

// storedSigningKey is one P-256 key as persisted (PKCS #8 DER).
type storedSigningKey struct {
	ID      string    `json:"kid"`
	PKCS8   []byte    `json:"pkcs8"`
	Created time.Time `json:"created"`
}

// signingKey is one loaded key.
type signingKey struct {
	id      string
	priv    *ecdsa.PrivateKey
	created time.Time
	jwk     []byte      // the public JWK, as published
	header  []byte      // the JWS protected header it signs under, base64url-encoded
	d       *bigmod.Nat // the private scalar, for signing with pooled nonces
}

// signingKeySet is an immutable snapshot of the keys in storage, oldest first.
type signingKeySet struct {
	keys []*signingKey
}

// assertionKeys are the signing keys in storage (a keystore ring), with
// the publication schedule that rotation and an assertion's lifetime imply.
type assertionKeys struct {
	ring     *keystore.Ring[storedSigningKey, signingKeySet]
	rotation time.Duration
	lifetime time.Duration // of an assertion
}

// CreatedAt implements keystore.Key.
func (k storedSigningKey) CreatedAt() time.Time { return k.Created }

func newAssertionKeys(storage certmagic.Storage, rotation, lifetime time.Duration, now func() time.Time) *assertionKeys {
	k := &assertionKeys{rotation: rotation, lifetime: lifetime}
	k.ring = keystore.New(storage, now, keystore.Policy[storedSigningKey, signingKeySet]{
		Name:       "assertion keys",
		StorageKey: assertionKeysStorageKey,
		Rotation:   rotation,
		Build:      buildSigningKeySet,
		Keep: func(keys []storedSigningKey, i int, now time.Time) bool {
			var next time.Time
			if i+1 < len(keys) {
				next = keys[i+1].Created
			}
			return k.retained(next, now)
		},
		Fresh: freshSigningKey,
	})
	return k
}

// lead is how long before it signs a new key is created and published:
// assertionKeyLead, or a quarter of the rotation when that is shorter.
func (k *assertionKeys) lead() time.Duration {
	return min(assertionKeyLead, k.rotation/4)
}

// keys returns the current key set, loading (and creating) it on first use
// and refreshing it in the background once the newest key is due.
func (k *assertionKeys) keys(ctx context.Context) (*signingKeySet, error) {
	return k.ring.Get(ctx)
}

// signer is the key that signs at now: the newest key that has been
// published for the lead time, or the oldest key when none has (a fresh
// store's first key signs at once).
func (s *signingKeySet) signer(now time.Time, lead time.Duration) *signingKey {
	for i := len(s.keys) - 1; i >= 0; i-- {
		if now.Sub(s.keys[i].created) >= lead {
			return s.keys[i]
		}
	}
	return s.keys[0]
}

// published returns the keys verifiers need at now: every key that signs or
// will sign, and each retired one until the assertions it signed expired.
func (k *assertionKeys) published(s *signingKeySet, now time.Time) []*signingKey {
	var out []*signingKey
	for i, key := range s.keys {
		var next time.Time
		if i+1 < len(s.keys) {
			next = s.keys[i+1].created
		}
		if k.retained(next, now) {
			out = append(out, key)
		}
	}
	return out
}

// retained reports whether a key whose successor was created at next (zero:
// it has none, so it signs or will) is still needed at now. It stopped
// signing when its successor started, a lead after next.
func (k *assertionKeys) retained(next, now time.Time) bool {
	return next.IsZero() || now.Before(next.Add(k.lead()+k.lifetime+assertionKeySkew))
}

func freshSigningKey(_ []storedSigningKey, now time.Time) (storedSigningKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return storedSigningKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return storedSigningKey{}, err
	}
	return storedSigningKey{ID: thumbprint(&priv.PublicKey), PKCS8: der, Created: now.UTC()}, nil
}

func buildSigningKeySet(keys []storedSigningKey) (*signingKeySet, error) {
	set := &signingKeySet{keys: make([]*signingKey, 0, len(keys))}
	for _, key := range keys {
		parsed, err := x509.ParsePKCS8PrivateKey(key.PKCS8)
		if err != nil {
			return nil, fmt.Errorf("assertion key %s at %s: %w", key.ID, assertionKeysStorageKey, err)
		}
		priv, ok := parsed.(*ecdsa.PrivateKey)
		if !ok || priv.Curve != elliptic.P256() {
			return nil, fmt.Errorf("assertion key %s at %s: not a P-256 key", key.ID, assertionKeysStorageKey)
		}
		sk := &signingKey{id: key.ID, priv: priv, created: key.Created}
		raw, err := priv.Bytes()
		if err != nil {
			return nil, fmt.Errorf("assertion key %s at %s: %w", key.ID, assertionKeysStorageKey, err)
		}
		if sk.d, err = bigmod.NewNat().SetBytes(raw, p256Order); err != nil {
			return nil, fmt.Errorf("assertion key %s at %s: private scalar: %w", key.ID, assertionKeysStorageKey, err)
		}
		if sk.jwk, err = publicJWK(key.ID, &priv.PublicKey); err != nil {
			return nil, err
		}
		sk.header = jwsHeader(key.ID)
		set.keys = append(set.keys, sk)
	}
	return set, nil
}

// ecPoint returns the public key's x and y, base64url-encoded as in a JWK.
func ecPoint(pub *ecdsa.PublicKey) (x, y string) {
	raw, _ := pub.Bytes() // 0x04 || X || Y for P-256
	return base64.RawURLEncoding.EncodeToString(raw[1:33]), base64.RawURLEncoding.EncodeToString(raw[33:65])
}

// thumbprint is the key's RFC 7638 JWK thumbprint, used as its kid: a
// verifier can recompute it, and two keys never share one.
func thumbprint(pub *ecdsa.PublicKey) string {
	x, y := ecPoint(pub)
	sum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + x + `","y":"` + y + `"}`))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func publicJWK(kid string, pub *ecdsa.PublicKey) ([]byte, error) {
	x, y := ecPoint(pub)
	return json.Marshal(map[string]string{"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "use": "sig", "alg": "ES256"})
}
