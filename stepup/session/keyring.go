package session

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/keystore"
)

// KeysStorageKey is where the cookie keys live in Caddy's storage. Every
// replica that shares the storage shares the keys, and so the sessions.
const KeysStorageKey = "stepup/cookie_keys.json"

// KeyRetention is how long a key still decrypts after it stopped encrypting.
// Sessions are capped at this lifetime (the handler's Validate) so none
// outlives its key.
const KeyRetention = 30 * 24 * time.Hour

// storedKey is one AES-256 key as persisted.
type storedKey struct {
	ID      uint32    `json:"id"`
	Secret  []byte    `json:"secret"`
	Created time.Time `json:"created"`
}

// CreatedAt implements keystore.Key.
func (k storedKey) CreatedAt() time.Time { return k.Created }

// keySet is an immutable snapshot of usable keys; the newest encrypts.
type keySet struct {
	current uint32
	aeads   map[uint32]cipher.AEAD
}

// Keyring holds the AES-GCM keys cookies are sealed with. It loads them
// from storage on first use (Provision does no I/O), rotates them under the
// storage lock, and re-reads storage when a cookie names a key it does not
// know yet (another replica rotated).
type Keyring struct {
	ring       *keystore.Ring[storedKey, keySet]
	now        func() time.Time
	lastReload atomic.Int64

	// opened is the cache of sessions opened with these keys, shared by
	// every store on the keyring (see sessionCache): a keyring shared
	// across handlers and reloads shares what they opened.
	opened *sessionCache
}

// reloadInterval bounds how often an unknown key id may trigger a storage read,
// so forged cookies cannot turn into a storage load amplifier.
const reloadInterval = 30 * time.Second

// NewKeyring returns a keyring over storage that adds a key every rotation;
// now is its clock.
func NewKeyring(storage certmagic.Storage, rotation time.Duration, now func() time.Time) *Keyring {
	return &Keyring{now: now, opened: newSessionCache(sessionCacheSize), ring: keystore.New(storage, now, keystore.Policy[storedKey, keySet]{
		Name:       "cookie keys",
		StorageKey: KeysStorageKey,
		Rotation:   rotation,
		Build:      buildKeySet,
		Keep: func(keys []storedKey, i int, now time.Time) bool {
			return now.Sub(keys[i].Created) < rotation+KeyRetention
		},
		Fresh: freshKey,
	})}
}

// Warm loads (and creates) the keys unless they are loaded already.
// Requests load them on first use; this is for doing it ahead of them.
func (k *Keyring) Warm(ctx context.Context) error {
	_, err := k.keys(ctx)
	return err
}

// keys returns the current key set, loading (and creating) it on first use.
func (k *Keyring) keys(ctx context.Context) (*keySet, error) { return k.ring.Get(ctx) }

// current returns the key set last loaded, nil before the first load; it
// does no I/O.
func (k *Keyring) current() *keySet { return k.ring.Current() }

// keyFor returns the AEAD for id, re-reading storage at most once per
// reloadInterval when id is unknown.
func (k *Keyring) keyFor(ctx context.Context, id uint32) (cipher.AEAD, error) {
	s, err := k.keys(ctx)
	if err != nil {
		return nil, err
	}
	if a, ok := s.aeads[id]; ok {
		return a, nil
	}
	last := k.lastReload.Load()
	if k.now().UnixNano()-last < int64(reloadInterval) || !k.lastReload.CompareAndSwap(last, k.now().UnixNano()) {
		return nil, errUnknownKey
	}
	s, err = k.ring.Load(ctx, false)
	if err != nil {
		return nil, err
	}
	if a, ok := s.aeads[id]; ok {
		return a, nil
	}
	return nil, errUnknownKey
}

var errUnknownKey = errors.New("cookie key unknown or retired")

func freshKey(kept []storedKey, now time.Time) (storedKey, error) {
	fresh := storedKey{Secret: make([]byte, 32), Created: now.UTC()}
	rand.Read(fresh.Secret)
	var id [4]byte
	for {
		rand.Read(id[:])
		fresh.ID = binary.BigEndian.Uint32(id[:])
		if !containsKeyID(kept, fresh.ID) {
			return fresh, nil
		}
	}
}

func containsKeyID(keys []storedKey, id uint32) bool {
	for _, k := range keys {
		if k.ID == id {
			return true
		}
	}
	return false
}

func buildKeySet(keys []storedKey) (*keySet, error) {
	if len(keys) == 0 {
		return nil, errors.New("no cookie keys in storage")
	}
	set := &keySet{aeads: make(map[uint32]cipher.AEAD, len(keys))}
	for _, key := range keys {
		if len(key.Secret) != 32 {
			return nil, fmt.Errorf("cookie key %d: want 32 bytes, have %d", key.ID, len(key.Secret))
		}
		block, err := aes.NewCipher(key.Secret)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		set.aeads[key.ID] = aead
	}
	set.current = keys[len(keys)-1].ID
	return set, nil
}
