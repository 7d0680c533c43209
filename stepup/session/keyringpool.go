package session

import (
	"context"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/keystore"
)

// keyrings holds cookie keyrings across handlers and config reloads. The
// keys live under one storage key whatever the issuer (the sealer binds
// each cookie to its issuer and client), so every handler on one storage
// with one rotation shares a keyring: a reload of N handlers, and the
// first request to each, read storage once instead of N times (issue 19;
// in Kubernetes the storage is the API server).
var keyrings = keystore.NewPool[*Keyring]()

// warmTimeout bounds the background load started for a new shared keyring.
const warmTimeout = 30 * time.Second

// SharedKeyring returns the keyring every handler on storage with this
// rotation shares (on the real clock), and the id to release it by. A new
// one is loaded in the background so that no request waits for the storage
// read, bounded by warmTimeout and by ctx (the config's life).
func SharedKeyring(ctx context.Context, storage certmagic.Storage, rotation time.Duration) (*Keyring, string, error) {
	id := keystore.StorageID(storage, rotation)
	ring, loaded, err := keyrings.Get(id, func() *Keyring { return NewKeyring(storage, rotation, time.Now) })
	if err != nil {
		return nil, "", err
	}
	if !loaded {
		go func() {
			warm, cancel := context.WithTimeout(ctx, warmTimeout)
			defer cancel()
			// A failure is retried by the first request that needs keys.
			_ = ring.Warm(warm)
		}()
	}
	return ring, id, nil
}

// ReleaseKeyring gives back one use of the shared keyring id.
func ReleaseKeyring(id string) { keyrings.Release(id) }
