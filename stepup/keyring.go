package stepup

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
)

// keysStorageKey is where the cookie keys live in Caddy's storage. Every
// replica that shares the storage shares the keys, and so the sessions.
const keysStorageKey = "stepup/cookie_keys.json"

// keyRetention is how long a key still decrypts after it stopped encrypting.
// Sessions are capped at this lifetime (see Validate) so none outlives its key.
const keyRetention = 30 * 24 * time.Hour

// storedKey is one AES-256 key as persisted.
type storedKey struct {
	ID      uint32    `json:"id"`
	Secret  []byte    `json:"secret"`
	Created time.Time `json:"created"`
}

type storedKeys struct {
	Keys []storedKey `json:"keys"`
}

// keySet is an immutable snapshot of usable keys; the newest encrypts.
type keySet struct {
	current uint32
	created time.Time
	aeads   map[uint32]cipher.AEAD
}

// keyring loads keys from storage on first use (Provision does no I/O),
// rotates them under the storage lock, and re-reads storage when a cookie
// names a key it does not know yet (another replica rotated).
type keyring struct {
	storage  certmagic.Storage
	rotation time.Duration
	now      func() time.Time

	set        atomic.Pointer[keySet]
	mu         sync.Mutex // serialises loads
	lastReload atomic.Int64
	rotating   atomic.Bool
}

// reloadInterval bounds how often an unknown key id may trigger a storage read,
// so forged cookies cannot turn into a storage load amplifier.
const reloadInterval = 30 * time.Second

func newKeyring(storage certmagic.Storage, rotation time.Duration, now func() time.Time) *keyring {
	return &keyring{storage: storage, rotation: rotation, now: now}
}

// keys returns the current key set, loading (and creating) it on first use.
func (k *keyring) keys(ctx context.Context) (*keySet, error) {
	if s := k.set.Load(); s != nil {
		if k.now().Sub(s.created) >= k.rotation && k.rotating.CompareAndSwap(false, true) {
			go func() {
				defer k.rotating.Store(false)
				_, _ = k.load(context.WithoutCancel(ctx), true)
			}()
		}
		return s, nil
	}
	return k.load(ctx, true)
}

// keyFor returns the AEAD for id, re-reading storage at most once per
// reloadInterval when id is unknown.
func (k *keyring) keyFor(ctx context.Context, id uint32) (cipher.AEAD, error) {
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
	s, err = k.load(ctx, false)
	if err != nil {
		return nil, err
	}
	if a, ok := s.aeads[id]; ok {
		return a, nil
	}
	return nil, errUnknownKey
}

var errUnknownKey = errors.New("cookie key unknown or retired")

// load reads the keys from storage; when mayRotate is set and the newest key
// is due (or there is none), it creates one under the storage lock.
func (k *keyring) load(ctx context.Context, mayRotate bool) (*keySet, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	stored, err := k.read(ctx)
	if err != nil {
		return nil, err
	}
	if mayRotate && k.due(stored) {
		stored, err = k.rotate(ctx)
		if err != nil {
			return nil, err
		}
	}
	set, err := buildKeySet(stored)
	if err != nil {
		return nil, err
	}
	k.set.Store(set)
	return set, nil
}

func (k *keyring) due(s storedKeys) bool {
	return len(s.Keys) == 0 || k.now().Sub(s.Keys[len(s.Keys)-1].Created) >= k.rotation
}

func (k *keyring) read(ctx context.Context) (storedKeys, error) {
	var s storedKeys
	raw, err := k.storage.Load(ctx, keysStorageKey)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("loading cookie keys from storage: %w", err)
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, fmt.Errorf("decoding cookie keys at %s: %w", keysStorageKey, err)
	}
	return s, nil
}

// rotate adds a fresh key and prunes retired ones. It re-reads under the lock
// so that two replicas rotating at once add one key, not two.
func (k *keyring) rotate(ctx context.Context) (storedKeys, error) {
	if err := k.storage.Lock(ctx, keysStorageKey); err != nil {
		return storedKeys{}, fmt.Errorf("locking cookie keys: %w", err)
	}
	defer func() { _ = k.storage.Unlock(context.WithoutCancel(ctx), keysStorageKey) }()
	s, err := k.read(ctx)
	if err != nil || !k.due(s) {
		return s, err
	}
	now := k.now()
	kept := s.Keys[:0]
	for _, key := range s.Keys {
		if now.Sub(key.Created) < k.rotation+keyRetention {
			kept = append(kept, key)
		}
	}
	fresh := storedKey{Secret: make([]byte, 32), Created: now.UTC()}
	rand.Read(fresh.Secret)
	var id [4]byte
	for {
		rand.Read(id[:])
		fresh.ID = binary.BigEndian.Uint32(id[:])
		if !containsKeyID(kept, fresh.ID) {
			break
		}
	}
	s.Keys = append(kept, fresh)
	raw, err := json.Marshal(s)
	if err != nil {
		return s, err
	}
	if err := k.storage.Store(ctx, keysStorageKey, raw); err != nil {
		return s, fmt.Errorf("storing cookie keys: %w", err)
	}
	return s, nil
}

func containsKeyID(keys []storedKey, id uint32) bool {
	for _, k := range keys {
		if k.ID == id {
			return true
		}
	}
	return false
}

func buildKeySet(s storedKeys) (*keySet, error) {
	if len(s.Keys) == 0 {
		return nil, errors.New("no cookie keys in storage")
	}
	set := &keySet{aeads: make(map[uint32]cipher.AEAD, len(s.Keys))}
	for _, key := range s.Keys {
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
	newest := s.Keys[len(s.Keys)-1]
	set.current, set.created = newest.ID, newest.Created
	return set, nil
}
