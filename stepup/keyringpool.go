package stepup

import (
	"context"
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/keystore"
)

// keyrings holds cookie keyrings across handlers and config reloads. The
// keys live under one storage key whatever the issuer (the sealer binds
// each cookie to its issuer and client), so every handler on one storage
// with one rotation shares a keyring: a reload of N handlers, and the
// first request to each, read storage once instead of N times (issue 19;
// in Kubernetes the storage is the API server).
var keyrings = keystore.NewPool[*keyring]()

// keyringWarmTimeout bounds the background load started at Provision.
const keyringWarmTimeout = 30 * time.Second

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
	key := keystore.StorageID(h.storage, rotation)
	ring, loaded, err := keyrings.Get(key, func() *keyring { return newKeyring(h.storage, rotation, time.Now) })
	if err != nil {
		return nil, err
	}
	h.keyringKey = key
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
		keyrings.Release(h.keyringKey)
		h.keyringKey = ""
	}
	if h.assertionKeysKey != "" {
		assertionKeyrings.Release(h.assertionKeysKey)
		h.assertionKeysKey = ""
	}
}

// assertionKeyrings shares assertion signing keys the same way: one
// storage key, so one set per (storage, rotation, lifetime).
var assertionKeyrings = keystore.NewPool[*assertionKeys]()

// provisionAssertionKeys returns the handler's assertion signing keys:
// shared when its cookie keyring is (the real clock), else its own.
func (h *Handler) provisionAssertionKeys(rotation, lifetime time.Duration) *assertionKeys {
	h.assertionKeysKey = ""
	if h.keyringKey == "" {
		return newAssertionKeys(h.storage, rotation, lifetime, h.now)
	}
	key := fmt.Sprintf("%s\x00%d", keystore.StorageID(h.storage, rotation), lifetime)
	keys, _, err := assertionKeyrings.Get(key, func() *assertionKeys {
		return newAssertionKeys(h.storage, rotation, lifetime, time.Now)
	})
	if err != nil {
		return newAssertionKeys(h.storage, rotation, lifetime, h.now)
	}
	h.assertionKeysKey = key
	return keys
}
