package stepup

import (
	"sync/atomic"
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
// for, and only while the assertion has at least half its lifetime left.
type assertionCache struct {
	m *bounded.Map[assertionCacheKey, *assertionEntry]
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

// assertionEntry is one signed assertion. It is replaced, never changed,
// except for when it was last handed out and the flag that keeps a single
// re-signing of it in flight.
type assertionEntry struct {
	token string
	// reuseUntil is when the assertion has half its lifetime left (from
	// its exp claim, whole seconds); it is not handed out from then on.
	reuseUntil time.Time
	// resignWithin is the least lead on reuseUntil at which a reuse
	// re-signs it in the background (an eighth of the lifetime).
	resignWithin time.Duration
	lastUse      atomic.Int64 // unix nanoseconds, the signing at first
	refreshing   atomic.Bool
}

// assertionCacheSize bounds the cache; beyond it assertions are signed for
// each request, as they would be without the cache.
const assertionCacheSize = 4096

// maxCachedTarget keeps odd, long request targets out of the cache so that
// its memory stays bounded by entries of ordinary size.
const maxCachedTarget = 512

func newAssertionCache(size int) *assertionCache {
	return &assertionCache{m: bounded.New[assertionCacheKey, *assertionEntry](size)}
}

// newAssertionEntry is token, signed at signed and expiring at exp, for an
// assertion lifetime of lifetime.
func newAssertionEntry(token string, signed, exp time.Time, lifetime time.Duration) *assertionEntry {
	e := &assertionEntry{token: token, reuseUntil: exp.Add(-lifetime / 2), resignWithin: lifetime / 8}
	e.lastUse.Store(signed.UnixNano())
	return e
}

// due records a reuse at now and reports whether the entry should be
// re-signed for the requests to come: whether the reuse window ends within
// one and a half times the time since the previous reuse (so a client
// repeating the target at that pace, give or take half of it, finds the
// new assertion in place), or within an eighth of the lifetime. A steady
// client thus costs about one signature per half lifetime, not one per
// reuse.
func (e *assertionEntry) due(now time.Time) bool {
	gap := now.Sub(time.Unix(0, e.lastUse.Swap(now.UnixNano())))
	return !now.Add(max(gap+gap/2, e.resignWithin)).Before(e.reuseUntil)
}

// get returns k's entry if it may still be handed out at now.
func (c *assertionCache) get(k *assertionCacheKey, now time.Time) *assertionEntry {
	e, ok := c.m.Get(*k)
	if !ok || !now.Before(e.reuseUntil) {
		return nil
	}
	return e
}

func (c *assertionCache) put(k *assertionCacheKey, e *assertionEntry, now time.Time) {
	if len(k.host)+len(k.path) > maxCachedTarget {
		return
	}
	c.m.Put(*k, e, func(old *assertionEntry) bool {
		return !now.Before(old.reuseUntil)
	})
}

// replace puts fresh in place of old, only if old is still k's entry: a
// re-signing that finishes after its entry was evicted (the cache bound)
// or replaced is dropped, so entries die with the bound and their lifetime.
func (c *assertionCache) replace(k *assertionCacheKey, old, fresh *assertionEntry) bool {
	return c.m.Replace(*k, fresh, func(e *assertionEntry) bool { return e == old })
}
