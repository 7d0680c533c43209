// Package keystore keeps a rotating set of keys as one JSON document in
// Caddy's storage, rotated under the storage lock so that replicas sharing
// the storage hold the same keys, and shares such sets across handlers and
// config reloads. What a key is and when a retired one may go is the
// caller's (the cookie keyring, the assertion signing keys).
package keystore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
)

// Key is one stored key; the ring needs only its creation time.
type Key interface{ CreatedAt() time.Time }

// Policy says where a ring's keys live and how they are made, kept and used.
type Policy[K Key, T any] struct {
	Name       string        // in errors, e.g. "cookie keys"
	StorageKey string        // where the document lives in storage
	Rotation   time.Duration // a new key is due once the newest is this old

	// Build turns the stored keys, oldest first, into the set callers use.
	Build func(keys []K) (*T, error)
	// Keep reports whether keys[i] is still needed at now; a rotation
	// prunes the others.
	Keep func(keys []K, i int, now time.Time) bool
	// Fresh makes a new key to join kept.
	Fresh func(kept []K, now time.Time) (K, error)
}

// document is the stored form: {"keys": [...]}, oldest first.
type document[K Key] struct {
	Keys []K `json:"keys"`
}

// Ring loads its keys from storage on first use (Provision does no I/O),
// adds a key under the storage lock when the newest one is due, and
// re-reads storage when its copy falls due, so replicas see each other's
// keys.
type Ring[K Key, T any] struct {
	policy  Policy[K, T]
	storage certmagic.Storage
	now     func() time.Time

	snap     atomic.Pointer[snapshot[T]]
	mu       sync.Mutex // serialises loads
	rotating atomic.Bool
}

// snapshot is an immutable view of the keys last loaded.
type snapshot[T any] struct {
	set    *T
	newest time.Time // creation of the newest key; zero when there is none
}

// New returns a ring over storage; now is its clock.
func New[K Key, T any](storage certmagic.Storage, now func() time.Time, p Policy[K, T]) *Ring[K, T] {
	return &Ring[K, T]{policy: p, storage: storage, now: now}
}

// Current returns the set last loaded, or nil before the first load. It
// does no I/O.
func (r *Ring[K, T]) Current() *T {
	if s := r.snap.Load(); s != nil {
		return s.set
	}
	return nil
}

// Get returns the current set, loading (and creating) it on first use and
// refreshing it in the background once the newest key is due, so that no
// caller waits for a rotation.
func (r *Ring[K, T]) Get(ctx context.Context) (*T, error) {
	if s := r.snap.Load(); s != nil {
		if r.dueAt(s.newest, r.now()) && r.rotating.CompareAndSwap(false, true) {
			go func() {
				defer r.rotating.Store(false)
				_, _ = r.Load(context.WithoutCancel(ctx), true)
			}()
		}
		return s.set, nil
	}
	return r.first(ctx)
}

// first loads the keys on first use. Callers that arrive while another
// loads them wait for that load instead of reading storage again.
func (r *Ring[K, T]) first(ctx context.Context) (*T, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.snap.Load(); s != nil {
		return s.set, nil
	}
	return r.load(ctx, true)
}

// Load reads the keys from storage; when mayRotate is set and the newest
// key is due (or there is none), it first adds one under the storage lock.
func (r *Ring[K, T]) Load(ctx context.Context, mayRotate bool) (*T, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.load(ctx, mayRotate)
}

func (r *Ring[K, T]) load(ctx context.Context, mayRotate bool) (*T, error) {
	keys, err := r.read(ctx)
	if err != nil {
		return nil, err
	}
	if mayRotate && r.due(keys) {
		if keys, err = r.rotate(ctx); err != nil {
			return nil, err
		}
	}
	set, err := r.policy.Build(keys)
	if err != nil {
		return nil, err
	}
	r.snap.Store(&snapshot[T]{set: set, newest: newest(keys)})
	return set, nil
}

func newest[K Key](keys []K) time.Time {
	if len(keys) == 0 {
		return time.Time{}
	}
	return keys[len(keys)-1].CreatedAt()
}

func (r *Ring[K, T]) due(keys []K) bool {
	return len(keys) == 0 || r.dueAt(newest(keys), r.now())
}

func (r *Ring[K, T]) dueAt(newest, now time.Time) bool {
	return newest.IsZero() || now.Sub(newest) >= r.policy.Rotation
}

func (r *Ring[K, T]) read(ctx context.Context) ([]K, error) {
	var doc document[K]
	raw, err := r.storage.Load(ctx, r.policy.StorageKey)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading %s from storage: %w", r.policy.Name, err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("decoding %s at %s: %w", r.policy.Name, r.policy.StorageKey, err)
	}
	return doc.Keys, nil
}

// rotate adds a fresh key and prunes those no longer needed. It re-reads
// under the storage lock so that replicas rotating at once add one key, not
// one each, and never writes over keys that do not decode.
func (r *Ring[K, T]) rotate(ctx context.Context) ([]K, error) {
	if err := r.storage.Lock(ctx, r.policy.StorageKey); err != nil {
		return nil, fmt.Errorf("locking %s: %w", r.policy.Name, err)
	}
	defer func() { _ = r.storage.Unlock(context.WithoutCancel(ctx), r.policy.StorageKey) }()
	keys, err := r.read(ctx)
	if err != nil {
		return keys, err
	}
	if len(keys) > 0 {
		if _, err := r.policy.Build(keys); err != nil {
			return keys, err
		}
	}
	if !r.due(keys) {
		return keys, nil
	}
	now := r.now()
	kept := make([]K, 0, len(keys)+1)
	for i, key := range keys {
		if r.policy.Keep(keys, i, now) {
			kept = append(kept, key)
		}
	}
	fresh, err := r.policy.Fresh(kept, now)
	if err != nil {
		return keys, err
	}
	kept = append(kept, fresh)
	raw, err := json.Marshal(document[K]{Keys: kept})
	if err != nil {
		return keys, err
	}
	if err := r.storage.Store(ctx, r.policy.StorageKey, raw); err != nil {
		return keys, fmt.Errorf("storing %s: %w", r.policy.Name, err)
	}
	return kept, nil
}
