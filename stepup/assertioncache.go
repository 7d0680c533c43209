package stepup

import (
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/bounded"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// assertionCache remembers recently signed assertions. Signing costs an
// ECDSA signature (tens of µs), far more than the rest of a request's path,
// and a browser or API client repeats the same request target under the
// same session many times a minute. An entry answers only the exact
// session (the decoded session is shared through the session and bearer
// caches), rule, risk score, method, host, path and scheme it was signed
// for, and only during the first half of the assertion's lifetime.
type assertionCache struct {
	m *bounded.Map[assertionCacheKey, assertionEntry]
}

// assertionCacheKey is everything an assertion's claims depend on besides
// the clock.
type assertionCacheKey struct {
	s          *session.Session
	rule       string
	reportOnly bool
	score      int // -1 without a risk engine
	method     string
	host       string
	path       string // escaped
	tls        bool
}

type assertionEntry struct {
	token      string
	reuseUntil time.Time
}

// assertionCacheSize bounds the cache; beyond it assertions are signed for
// each request, as they would be without the cache.
const assertionCacheSize = 4096

// maxCachedTarget keeps odd, long request targets out of the cache so that
// its memory stays bounded by entries of ordinary size.
const maxCachedTarget = 512

func newAssertionCache(size int) *assertionCache {
	return &assertionCache{m: bounded.New[assertionCacheKey, assertionEntry](size)}
}

func (c *assertionCache) get(k *assertionCacheKey, now time.Time) (string, bool) {
	e, ok := c.m.Get(*k)
	if !ok || !now.Before(e.reuseUntil) {
		return "", false
	}
	return e.token, true
}

func (c *assertionCache) put(k *assertionCacheKey, token string, reuseUntil, now time.Time) {
	if len(k.host)+len(k.path) > maxCachedTarget {
		return
	}
	c.m.Put(*k, assertionEntry{token: token, reuseUntil: reuseUntil}, func(e assertionEntry) bool {
		return !now.Before(e.reuseUntil)
	})
}
