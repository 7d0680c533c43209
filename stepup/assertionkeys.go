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
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
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

type storedSigningKeys struct {
	Keys []storedSigningKey `json:"keys"`
}

// signingKey is one loaded key.
type signingKey struct {
	id      string
	priv    *ecdsa.PrivateKey
	created time.Time
	jwk     []byte // the public JWK, as published
	header  []byte // the JWS protected header it signs under, base64url-encoded
}

// signingKeySet is an immutable snapshot of the keys in storage, oldest first.
type signingKeySet struct {
	keys []*signingKey
}

// assertionKeys loads the signing keys from storage on first use (Provision
// does no I/O), adds a key under the storage lock when the newest one is due
// for rotation, and re-reads storage when its copy falls due, so replicas
// see each other's keys.
type assertionKeys struct {
	storage  certmagic.Storage
	rotation time.Duration
	lifetime time.Duration // of an assertion
	now      func() time.Time

	set      atomic.Pointer[signingKeySet]
	mu       sync.Mutex // serialises loads
	rotating atomic.Bool
}

func newAssertionKeys(storage certmagic.Storage, rotation, lifetime time.Duration, now func() time.Time) *assertionKeys {
	return &assertionKeys{storage: storage, rotation: rotation, lifetime: lifetime, now: now}
}

// lead is how long before it signs a new key is created and published:
// assertionKeyLead, or a quarter of the rotation when that is shorter.
func (k *assertionKeys) lead() time.Duration {
	return min(assertionKeyLead, k.rotation/4)
}

// keys returns the current key set, loading (and creating) it on first use
// and refreshing it in the background once the newest key is due.
func (k *assertionKeys) keys(ctx context.Context) (*signingKeySet, error) {
	if s := k.set.Load(); s != nil {
		if k.due(s.keys, k.now()) && k.rotating.CompareAndSwap(false, true) {
			go func() {
				defer k.rotating.Store(false)
				_, _ = k.load(context.WithoutCancel(ctx))
			}()
		}
		return s, nil
	}
	return k.load(ctx)
}

// due reports whether a new key should be created: there is none, or the
// newest is a rotation old.
func (k *assertionKeys) due(keys []*signingKey, now time.Time) bool {
	return len(keys) == 0 || now.Sub(keys[len(keys)-1].created) >= k.rotation
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

// retiredAt is when key i stopped signing: when its successor started.
// The zero time means it still signs (or will).
func (s *signingKeySet) retiredAt(i int, lead time.Duration) time.Time {
	if i+1 >= len(s.keys) {
		return time.Time{}
	}
	return s.keys[i+1].created.Add(lead)
}

// published returns the keys verifiers need at now: every key that signs or
// will sign, and each retired one until the assertions it signed expired.
func (k *assertionKeys) published(s *signingKeySet, now time.Time) []*signingKey {
	var out []*signingKey
	for i, key := range s.keys {
		if k.retained(s, i, now) {
			out = append(out, key)
		}
	}
	return out
}

func (k *assertionKeys) retained(s *signingKeySet, i int, now time.Time) bool {
	retired := s.retiredAt(i, k.lead())
	return retired.IsZero() || now.Before(retired.Add(k.lifetime+assertionKeySkew))
}

func (k *assertionKeys) load(ctx context.Context) (*signingKeySet, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	stored, err := k.read(ctx)
	if err != nil {
		return nil, err
	}
	set, err := buildSigningKeySet(stored)
	if err != nil {
		return nil, err
	}
	if k.due(set.keys, k.now()) {
		if stored, err = k.rotate(ctx); err != nil {
			return nil, err
		}
		if set, err = buildSigningKeySet(stored); err != nil {
			return nil, err
		}
	}
	k.set.Store(set)
	return set, nil
}

func (k *assertionKeys) read(ctx context.Context) (storedSigningKeys, error) {
	var s storedSigningKeys
	raw, err := k.storage.Load(ctx, assertionKeysStorageKey)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("loading assertion keys from storage: %w", err)
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, fmt.Errorf("decoding assertion keys at %s: %w", assertionKeysStorageKey, err)
	}
	return s, nil
}

// rotate adds a fresh key and prunes those no verifier needs any more. It
// re-reads under the storage lock so that replicas rotating at once add one
// key, not one each.
func (k *assertionKeys) rotate(ctx context.Context) (storedSigningKeys, error) {
	if err := k.storage.Lock(ctx, assertionKeysStorageKey); err != nil {
		return storedSigningKeys{}, fmt.Errorf("locking assertion keys: %w", err)
	}
	defer func() { _ = k.storage.Unlock(context.WithoutCancel(ctx), assertionKeysStorageKey) }()
	stored, err := k.read(ctx)
	if err != nil {
		return stored, err
	}
	set, err := buildSigningKeySet(stored)
	if err != nil {
		return stored, err
	}
	now := k.now()
	if !k.due(set.keys, now) {
		return stored, nil
	}
	kept := stored.Keys[:0]
	for i, key := range stored.Keys {
		if k.retained(set, i, now) {
			kept = append(kept, key)
		}
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return stored, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return stored, err
	}
	stored.Keys = append(kept, storedSigningKey{ID: thumbprint(&priv.PublicKey), PKCS8: der, Created: now.UTC()})
	raw, err := json.Marshal(stored)
	if err != nil {
		return stored, err
	}
	if err := k.storage.Store(ctx, assertionKeysStorageKey, raw); err != nil {
		return stored, fmt.Errorf("storing assertion keys: %w", err)
	}
	return stored, nil
}

func buildSigningKeySet(s storedSigningKeys) (*signingKeySet, error) {
	set := &signingKeySet{keys: make([]*signingKey, 0, len(s.Keys))}
	for _, key := range s.Keys {
		parsed, err := x509.ParsePKCS8PrivateKey(key.PKCS8)
		if err != nil {
			return nil, fmt.Errorf("assertion key %s at %s: %w", key.ID, assertionKeysStorageKey, err)
		}
		priv, ok := parsed.(*ecdsa.PrivateKey)
		if !ok || priv.Curve != elliptic.P256() {
			return nil, fmt.Errorf("assertion key %s at %s: not a P-256 key", key.ID, assertionKeysStorageKey)
		}
		sk := &signingKey{id: key.ID, priv: priv, created: key.Created}
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
