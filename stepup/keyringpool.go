package stepup

import (
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/keystore"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// provisionKeyring returns the handler's cookie keyring. With the real
// clock it is the one shared by every handler on the storage (see
// session.SharedKeyring); an injected clock (tests) gets a keyring of its
// own.
func (h *Handler) provisionKeyring(ctx caddy.Context, realClock bool) (*session.Keyring, error) {
	rotation := time.Duration(h.Session.KeyRotation)
	h.keyringKey = ""
	if !realClock {
		return session.NewKeyring(h.storage, rotation, h.now), nil
	}
	ring, key, err := session.SharedKeyring(ctx, h.storage, rotation)
	if err != nil {
		return nil, err
	}
	h.keyringKey = key
	return ring, nil
}

// releaseKeyring gives the shared keyrings back to their pools.
func (h *Handler) releaseKeyring() {
	if h.keyringKey != "" {
		session.ReleaseKeyring(h.keyringKey)
		h.keyringKey = ""
	}
	if h.assertionKeysKey != "" {
		assertionKeyrings.Release(h.assertionKeysKey)
		h.assertionKeysKey = ""
	}
}

// assertionKeyrings shares assertion signing keys the way the cookie
// keyrings are shared: one storage key, so one set per (storage, rotation,
// lifetime).
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
