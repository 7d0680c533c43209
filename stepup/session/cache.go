package session

import (
	"strings"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/bounded"
)

// sessionCache remembers the sessions recently decoded from session
// cookies. A browser sends the same cookie with every request, and opening
// it (base64, AES-GCM, decoding) was the largest cost of a request a rule
// covers and most of its allocations (issue 7; see BENCHMARKS.md).
//
// One cache belongs to each keyring and is shared by every store sealing
// with it, so a handler provisioned by a config reload finds the sessions
// the previous config's handlers opened (issue 19: the first request after
// a reload no longer opens its cookie), and the bound on memory is one per
// keyring, not one per handler.
//
// It never admits a cookie that would not open now to the same session: an
// entry answers only the exact cookie value it was opened from, under the
// same binding (provider and client: the additional data the value was
// authenticated with, so a handler of another provider or client never
// finds it), and only while the keyring still holds the key set it was
// opened with (a rotation, a reload of the keys or a retired key retires
// every entry). Those three determine what opening would yield; the
// cookie's name does not take part in opening, so it is not part of the
// key. Only cookies that opened and decoded into a session valid at the
// time are kept; failures are never remembered. Decoded sessions are
// immutable, shared by the requests (and handlers) that carry the cookie;
// each handler still judges them (expiry, acr, max_age, revocation, risk)
// on every request, the cache only saves decrypting.
type sessionCache struct {
	m *bounded.Map[cacheKey, sessionEntry]
}

type cacheKey struct {
	binding string // the sealer's provider and client binding
	cookie  string // the sealed value as sent
}

type sessionEntry struct {
	keys *keySet // the key set current when the cookie was opened
	s    *Session
}

// sessionCacheSize bounds a keyring's cache: about 3.1 MB when full (~770
// bytes an entry, BenchmarkCachesWhenFull), whatever the number of
// handlers. Beyond that many active sessions, cookies are simply opened as
// they would be without the cache.
const sessionCacheSize = 4096

// newSessionCache returns a cache of size entries, or nil (no cache) for 0.
func newSessionCache(size int) *sessionCache {
	if size <= 0 {
		return nil
	}
	return &sessionCache{m: bounded.New[cacheKey, sessionEntry](size)}
}

// get returns the session the cookie value opened to under binding while
// keys was current, or nil. A nil cache holds nothing.
func (c *sessionCache) get(binding, cookie string, keys *keySet) *Session {
	if c == nil || keys == nil {
		return nil
	}
	e, ok := c.m.Get(cacheKey{binding: binding, cookie: cookie})
	if !ok || e.keys != keys {
		return nil
	}
	return e.s
}

// put remembers that cookie opened to s under binding while keys was
// current, when s is valid at now.
func (c *sessionCache) put(binding, cookie string, keys *keySet, s *Session, now time.Time) {
	if c == nil || keys == nil || !s.Valid(now) {
		return
	}
	// A copy: cookie is a slice of the request's Cookie header.
	c.m.Put(cacheKey{binding: binding, cookie: strings.Clone(cookie)}, sessionEntry{keys: keys, s: s}, func(e sessionEntry) bool {
		return e.keys != keys || !e.s.Valid(now)
	})
}
