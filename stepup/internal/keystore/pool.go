package keystore

import (
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
)

// Pool shares values across handlers and config reloads, like Caddy's
// UsagePool for state that needs nothing done when the last config using
// it is unloaded.
type Pool[T any] struct{ pool *caddy.UsagePool }

// NewPool returns an empty pool.
func NewPool[T any]() *Pool[T] { return &Pool[T]{pool: caddy.NewUsagePool()} }

// pooled wraps a value for the UsagePool, which wants a Destructor.
type pooled[T any] struct{ v T }

// Destruct implements caddy.Destructor; there is nothing to release.
func (pooled[T]) Destruct() error { return nil }

// Get returns the value under key, made by make when there is none, and
// whether it was there already. Each Get is paired with one Release.
func (p *Pool[T]) Get(key string, make func() T) (v T, loaded bool, err error) {
	got, loaded, err := p.pool.LoadOrNew(key, func() (caddy.Destructor, error) {
		return pooled[T]{v: make()}, nil
	})
	if err != nil {
		return v, false, err
	}
	return got.(pooled[T]).v, loaded, nil
}

// Release gives back one use of key.
func (p *Pool[T]) Release(key string) { _, _ = p.pool.Delete(key) }

// StorageID identifies a storage and rotation across reloads: by the
// storage's String (the file storage's path, a module's own description)
// when it has one, else by the instance, which shares within one config
// only.
func StorageID(storage certmagic.Storage, rotation time.Duration) string {
	if s, ok := storage.(fmt.Stringer); ok {
		return fmt.Sprintf("%T\x00%s\x00%d", storage, s.String(), rotation)
	}
	return fmt.Sprintf("%T\x00%p\x00%d", storage, storage, rotation)
}
