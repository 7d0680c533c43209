package session

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"
)

const sessionPurpose = "session"

// Store reads and writes the session cookie: sealed with the keyring,
// named and flagged by Cookies, opened sessions remembered in the
// keyring's bounded cache (shared with every store on the keyring).
type Store struct {
	sealer  *Sealer
	cookies *Cookies
	cache   *sessionCache
	now     func() time.Time
	opens   atomic.Uint64
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the store's clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithCacheSize gives the store a cache of opened sessions of its own,
// of n entries; 0 opens every cookie. Default: the keyring's cache, shared
// by every store on it, of 4096 entries.
func WithCacheSize(n int) Option { return func(s *Store) { s.cache = newSessionCache(n) } }

// NewStore returns a store sealing with sealer and naming with cookies.
func NewStore(sealer *Sealer, cookies *Cookies, opts ...Option) *Store {
	s := &Store{sealer: sealer, cookies: cookies, cache: sealer.ring.opened, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Read returns the request's session: nil and no error when it carries
// none, nil and ErrSealed, ErrFormat or a storage error when the cookie
// does not open (tampered, truncated, foreign key, expired key, old
// format). A session is returned even when it has expired; callers judge
// it with Valid. Whatever the error, the request simply has no session.
func (st *Store) Read(r *http.Request) (*Session, error) {
	raw, ok := CookieValue(r.Header, st.cookies.For(r).Session)
	if !ok || raw == "" {
		return nil, nil
	}
	// The key set before opening: should a rotation happen meanwhile, the
	// cache entry is tagged with the older set and simply misses next time.
	keys := st.sealer.ring.current()
	if s := st.cache.get(st.sealer.aad, raw, keys); s != nil {
		return s, nil
	}
	st.opens.Add(1)
	// Opened in a recycled buffer: unmarshal copies what it keeps.
	buf := st.sealer.buffer()
	defer st.sealer.release(buf)
	plain, err := st.sealer.openTo(r.Context(), buf[:], sessionPurpose, raw)
	if err != nil {
		return nil, err
	}
	s, err := unmarshal(plain)
	if err != nil {
		return nil, err
	}
	st.cache.put(st.sealer.aad, raw, keys, s, st.now())
	return s, nil
}

// Opens returns how many session cookies this store has opened (decrypted
// and decoded) rather than found in the cache.
func (st *Store) Opens() uint64 { return st.opens.Load() }

// Seal returns the session cookie's value for s.
func (st *Store) Seal(ctx context.Context, s *Session) (string, error) {
	plain, err := marshal(s)
	if err != nil {
		return "", err
	}
	return st.sealer.Seal(ctx, sessionPurpose, plain)
}

// Write sets the session cookie to s, until s expires.
func (st *Store) Write(w http.ResponseWriter, r *http.Request, s *Session) error {
	sealed, err := st.Seal(r.Context(), s)
	if err != nil {
		return err
	}
	st.cookies.Set(w, r, &http.Cookie{Name: st.cookies.For(r).Session, Value: sealed, Path: "/", Expires: s.Expires})
	return nil
}

// Clear deletes the session cookie.
func (st *Store) Clear(w http.ResponseWriter, r *http.Request) {
	st.cookies.Set(w, r, &http.Cookie{Name: st.cookies.For(r).Session, Value: "", Path: "/", MaxAge: -1})
}
