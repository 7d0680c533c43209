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
// It never admits a cookie that would not open now: an entry answers only
// the exact cookie value it was opened from, and only while the keyring
// still holds the key set it was opened with (a rotation or reload retires
// every entry). Only cookies that opened and decoded into a session valid
// at the time are kept; failures are never remembered. Decoded sessions
// are immutable, shared by the requests that carry the cookie.
type sessionCache struct {
	m *bounded.Map[string, sessionEntry]
}

type sessionEntry struct {
	keys *keySet // the key set current when the cookie was opened
	s    *Session
}

// sessionCacheSize bounds the cache: about 2.9 MB when full (~700 bytes an
// entry, BenchmarkCachesWhenFull). Beyond that many active sessions,
// cookies are simply opened as they would be without the cache.
const sessionCacheSize = 4096

// newSessionCache returns a cache of size entries, or nil (no cache) for 0.
func newSessionCache(size int) *sessionCache {
	if size <= 0 {
		return nil
	}
	return &sessionCache{m: bounded.New[string, sessionEntry](size)}
}

// get returns the session the cookie value opened to while keys was
// current, or nil. A nil cache holds nothing.
func (c *sessionCache) get(cookie string, keys *keySet) *Session {
	if c == nil || keys == nil {
		return nil
	}
	e, ok := c.m.Get(cookie)
	if !ok || e.keys != keys {
		return nil
	}
	return e.s
}

// put remembers that cookie opened to s while keys was current, when s is
// valid at now.
func (c *sessionCache) put(cookie string, keys *keySet, s *Session, now time.Time) {
	if c == nil || keys == nil || !s.Valid(now) {
		return
	}
	// A copy: cookie is a slice of the request's Cookie header.
	c.m.Put(strings.Clone(cookie), sessionEntry{keys: keys, s: s}, func(e sessionEntry) bool {
		return e.keys != keys || !e.s.Valid(now)
	})
}
