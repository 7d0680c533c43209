package stepup

import (
	"crypto/sha256"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/bounded"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// bearerCache remembers access tokens that verified, so that an API client
// presenting the same token on every request does not pay for a public-key
// signature check each time (RS256 ≈ 46 µs, ES256 ≈ 100 µs on the issue's
// machine; a cached check is a SHA-256 and a map lookup).
//
// Entries are keyed by the token's SHA-256, so tokens themselves are never
// held. An entry lasts until the token expires, and at most
// bearerCacheMaxAge after it verified, so that tokens signed with a key the
// IdP withdrew stop being honoured soon. Only tokens that passed every
// check are kept: a failure is never remembered, and a token that failed
// is verified again when it comes back.
type bearerCache struct {
	m *bounded.Map[[sha256.Size]byte, bearerEntry]
}

type bearerEntry struct {
	s     *session.Session // immutable; shared by the requests presenting the token
	until time.Time
}

const (
	// bearerCacheSize bounds the cache: about 1.7 MB when full (~420 bytes
	// an entry, BenchmarkCachesWhenFull). Beyond that many active tokens,
	// the others are verified as they would be without the cache.
	bearerCacheSize = 4096
	// bearerCacheMaxAge bounds how long a verified token is trusted
	// without checking its signature again.
	bearerCacheMaxAge = 5 * time.Minute
)

func newBearerCache(size int) *bearerCache {
	return &bearerCache{m: bounded.New[[sha256.Size]byte, bearerEntry](size)}
}

// bearerKey is what the cache knows a token by. Tokens of usual size are
// hashed from a stack copy: converting to []byte would allocate a copy of
// the token on every request.
func bearerKey(token string) [sha256.Size]byte {
	var buf [2048]byte
	if len(token) <= len(buf) {
		return sha256.Sum256(append(buf[:0], token...))
	}
	return sha256.Sum256([]byte(token))
}

// get returns the session of a token that verified and has not expired at
// now, or nil. A nil cache holds nothing.
func (c *bearerCache) get(key [sha256.Size]byte, now time.Time) *session.Session {
	if c == nil {
		return nil
	}
	e, ok := c.m.Get(key)
	if !ok || !now.Before(e.until) {
		return nil
	}
	return e.s
}

// put remembers a token that verified at now into s (s.Expires is the
// token's exp).
func (c *bearerCache) put(key [sha256.Size]byte, s *session.Session, now time.Time) {
	until := now.Add(bearerCacheMaxAge)
	if s.Expires.Before(until) {
		until = s.Expires
	}
	if c == nil || !now.Before(until) {
		return
	}
	c.m.Put(key, bearerEntry{s: s, until: until}, func(e bearerEntry) bool { return !now.Before(e.until) })
}
