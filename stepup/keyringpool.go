package stepup

import (
	"context"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
)

// keyrings holds cookie keyrings across handlers and config reloads. The
// keys live under one storage key whatever the issuer (the sealer binds
// each cookie to its issuer and client), so every handler on one storage
// with one rotation shares a keyring: a reload of N handlers, and the
// first request to each, read storage once instead of N times (issue 19;
// in Kubernetes the storage is the API server).
var keyrings = caddy.NewUsagePool()

// keyringWarmTimeout bounds the background load started at Provision.
const keyringWarmTimeout = 30 * time.Second

// sharedKeyring is a pooled keyring; nothing to release when the last
// config using it is unloaded.
type sharedKeyring struct{ ring *keyring }

// Destruct implements caddy.Destructor.
func (sharedKeyring) Destruct() error { return nil }

// keyringKey identifies a storage across reloads: by its String (the file
// storage's path, a module's own description) when it has one, else by
// the instance, which shares within one config only.
func keyringKey(storage certmagic.Storage, rotation time.Duration) string {
	if s, ok := storage.(fmt.Stringer); ok {
		return fmt.Sprintf("%T\x00%s\x00%d", storage, s.String(), rotation)
	}
	return fmt.Sprintf("%T\x00%p\x00%d", storage, storage, rotation)
}

// provisionKeyring returns the handler's keyring. With the real clock it is
// the shared one, loaded in the background when new so that no request
// waits for the storage read (bounded by keyringWarmTimeout and by the
// config's life); an injected clock (tests) gets a keyring of its own.
func (h *Handler) provisionKeyring(ctx caddy.Context, realClock bool) (*keyring, error) {
	rotation := time.Duration(h.Session.KeyRotation)
	h.keyringKey = ""
	if !realClock {
		return newKeyring(h.storage, rotation, h.now), nil
	}
	key := keyringKey(h.storage, rotation)
	v, loaded, err := keyrings.LoadOrNew(key, func() (caddy.Destructor, error) {
		return sharedKeyring{ring: newKeyring(h.storage, rotation, time.Now)}, nil
	})
	if err != nil {
		return nil, err
	}
	h.keyringKey = key
	ring := v.(sharedKeyring).ring
	if !loaded {
		go func() {
			warm, cancel := context.WithTimeout(ctx, keyringWarmTimeout)
			defer cancel()
			// A failure is retried by the first request that needs keys.
			_, _ = ring.keys(warm)
		}()
	}
	return ring, nil
}

// releaseKeyring gives the shared keyrings back to their pools.
func (h *Handler) releaseKeyring() {
	if h.keyringKey != "" {
		_, _ = keyrings.Delete(h.keyringKey)
		h.keyringKey = ""
	}
	if h.assertionKeysKey != "" {
		_, _ = assertionKeyrings.Delete(h.assertionKeysKey)
		h.assertionKeysKey = ""
	}
}

// assertionKeyrings shares assertion signing keys the same way: one
// storage key, so one set per (storage, rotation, lifetime).
var assertionKeyrings = caddy.NewUsagePool()

type sharedAssertionKeys struct{ keys *assertionKeys }

// Destruct implements caddy.Destructor.
func (sharedAssertionKeys) Destruct() error { return nil }

// provisionAssertionKeys returns the handler's assertion signing keys:
// shared when its cookie keyring is (the real clock), else its own.
func (h *Handler) provisionAssertionKeys(rotation, lifetime time.Duration) *assertionKeys {
	h.assertionKeysKey = ""
	if h.keyringKey == "" {
		return newAssertionKeys(h.storage, rotation, lifetime, h.now)
	}
	key := fmt.Sprintf("%s\x00%d", keyringKey(h.storage, rotation), lifetime)
	v, _, err := assertionKeyrings.LoadOrNew(key, func() (caddy.Destructor, error) {
		return sharedAssertionKeys{keys: newAssertionKeys(h.storage, rotation, lifetime, time.Now)}, nil
	})
	if err != nil {
		return newAssertionKeys(h.storage, rotation, lifetime, h.now)
	}
	h.assertionKeysKey = key
	return v.(sharedAssertionKeys).keys
}
