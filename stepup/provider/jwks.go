package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// remoteKeys verifies JWT signatures against the IdP's JWKS. Unlike a plain
// remote key set it refreshes on an unknown key id at most once per
// minRefresh, and backs off while the IdP fails, so forged tokens with
// random key ids cannot turn into a stream of requests to the IdP.
// Key rotation is picked up on the first token signed with a new key.
type remoteKeys struct {
	url    string
	client *http.Client
	now    func() time.Time

	mu          sync.RWMutex
	keys        []jose.JSONWebKey
	nextRefresh time.Time
	failures    int
	refreshing  chan struct{} // non-nil while a fetch is in flight
}

const (
	minKeyRefresh = 10 * time.Second
	maxKeyBackoff = 5 * time.Minute
	maxJWKSBytes  = 1 << 20
)

// signingAlgs are the asymmetric algorithms accepted; `none` and the HMAC
// family are never accepted, whatever a token's header says.
var signingAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

var errKeyUnknown = errors.New("jwt signed with an unknown key")

// VerifySignature implements oidc.KeySet.
func (k *remoteKeys) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	jws, err := jose.ParseSigned(jwt, signingAlgs)
	if err != nil {
		return nil, fmt.Errorf("malformed jwt: %w", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("jwt must carry exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	if payload, ok := k.verifyWith(k.cached(), kid, jws); ok {
		return payload, nil
	}
	keys, err := k.refresh(ctx)
	if err != nil {
		return nil, err
	}
	if payload, ok := k.verifyWith(keys, kid, jws); ok {
		return payload, nil
	}
	return nil, errKeyUnknown
}

func (k *remoteKeys) cached() []jose.JSONWebKey {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.keys
}

func (k *remoteKeys) verifyWith(keys []jose.JSONWebKey, kid string, jws *jose.JSONWebSignature) ([]byte, bool) {
	for _, key := range keys {
		if kid != "" && key.KeyID != kid {
			continue
		}
		if payload, err := jws.Verify(&key); err == nil {
			return payload, true
		}
	}
	return nil, false
}

// forceKeyRefreshKey marks a verification whose token came straight from
// the IdP's token endpoint (the login callback): an unknown key id there
// means the IdP rotated, not that someone forged a token, so the rate limit
// does not apply.
type forceKeyRefreshKey struct{}

func withForcedKeyRefresh(ctx context.Context) context.Context {
	return context.WithValue(ctx, forceKeyRefreshKey{}, true)
}

// refresh fetches the JWKS if allowed now; concurrent callers share one fetch.
func (k *remoteKeys) refresh(ctx context.Context) ([]jose.JSONWebKey, error) {
	forced, _ := ctx.Value(forceKeyRefreshKey{}).(bool)
	k.mu.Lock()
	if wait := k.refreshing; wait != nil {
		k.mu.Unlock()
		select {
		case <-wait:
			return k.cached(), nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if now := k.now(); now.Before(k.nextRefresh) && !forced {
		keys, failing := k.keys, k.failures > 0
		wait := k.nextRefresh.Sub(now)
		k.mu.Unlock()
		if failing {
			return nil, &Unavailable{RetryAfter: wait, Cause: errors.New("jwks fetch failing")}
		}
		return keys, nil
	}
	done := make(chan struct{})
	k.refreshing = done
	k.mu.Unlock()

	keys, err := k.fetch(ctx)

	k.mu.Lock()
	defer k.mu.Unlock()
	k.refreshing = nil
	close(done)
	if err != nil {
		k.failures++
		k.nextRefresh = k.now().Add(min(minKeyRefresh<<min(k.failures-1, 8), maxKeyBackoff))
		return nil, &Unavailable{RetryAfter: k.nextRefresh.Sub(k.now()), Cause: err}
	}
	k.keys, k.failures, k.nextRefresh = keys, 0, k.now().Add(minKeyRefresh)
	return keys, nil
}

func (k *remoteKeys) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), discoveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(withEndpoint(ctx, "jwks"), http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching jwks: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes))
	if err != nil {
		return nil, fmt.Errorf("reading jwks: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching jwks: %s", resp.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("decoding jwks: %w", err)
	}
	keys := set.Keys[:0]
	for _, key := range set.Keys {
		if key.Use == "" || key.Use == "sig" {
			if key.IsPublic() {
				keys = append(keys, key)
			}
		}
	}
	return keys, nil
}
