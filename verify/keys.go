package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Bounds on how long a fetched JWKS is used without asking again: the
// edge's max-age, kept within these.
const (
	minKeysTTL = 10 * time.Second
	maxKeysTTL = time.Hour
	maxJWKSLen = 1 << 20
)

var errKeysUnavailable = errors.New("step-up JWKS unavailable")

// keyCache holds the edge's published keys. It fetches them on first use,
// again when its copy is older than the document's max-age, and when a
// token names a key it does not hold (at most once per minRefresh, so that
// forged key ids cannot make it hammer the edge).
type keyCache struct {
	url        string
	client     *http.Client
	now        func() time.Time
	minRefresh time.Duration

	mu        sync.Mutex
	set       *jose.JSONWebKeySet
	expires   time.Time
	lastFetch time.Time
}

// key returns the public key with id kid.
func (c *keyCache) key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	mayFetch := c.lastFetch.IsZero() || now.Sub(c.lastFetch) >= c.minRefresh
	if (c.set == nil || !now.Before(c.expires)) && mayFetch {
		// A failed refresh keeps the keys held before.
		if err := c.fetch(ctx, now); err != nil && c.set == nil {
			return nil, err
		}
		mayFetch = false
	}
	if c.set == nil {
		return nil, errKeysUnavailable
	}
	if k := c.find(kid); k != nil {
		return k, nil
	}
	if mayFetch {
		if err := c.fetch(ctx, now); err != nil {
			return nil, err
		}
		if k := c.find(kid); k != nil {
			return k, nil
		}
	}
	return nil, ErrUnknownKey
}

func (c *keyCache) find(kid string) *jose.JSONWebKey {
	for i := range c.set.Keys {
		k := &c.set.Keys[i]
		if k.KeyID == kid && k.IsPublic() && k.Valid() && (k.Use == "" || k.Use == "sig") && (k.Algorithm == "" || k.Algorithm == string(jose.ES256)) {
			return k
		}
	}
	return nil
}

func (c *keyCache) fetch(ctx context.Context, now time.Time) error {
	c.lastFetch = now
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return fmt.Errorf("%w: %v", errKeysUnavailable, err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", errKeysUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: %s answered %d", errKeysUnavailable, c.url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSLen+1))
	if err != nil || len(body) > maxJWKSLen {
		return fmt.Errorf("%w: reading %s", errKeysUnavailable, c.url)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return fmt.Errorf("%w: %s: %v", errKeysUnavailable, c.url, err)
	}
	c.set, c.expires = &set, now.Add(maxAge(resp.Header.Get("Cache-Control")))
	return nil
}

// maxAge reads Cache-Control's max-age, within minKeysTTL..maxKeysTTL.
func maxAge(cc string) time.Duration {
	for _, part := range strings.Split(cc, ",") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "max-age="); ok {
			if n, err := strconv.Atoi(v); err == nil {
				return min(max(time.Duration(n)*time.Second, minKeysTTL), maxKeysTTL)
			}
		}
	}
	return minKeysTTL
}
