package state

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

// Store is the shared state as a handler sees it. One Store exists per
// process and server (see Load), shared by every handler naming it.
type Store struct {
	cfg      Config // with defaults applied
	be       backend
	now      func() time.Time
	logger   *zap.Logger
	outage   throttle
	revs     atomic.Pointer[revocationSet]
	syncedAt atomic.Int64 // unix nanoseconds of the last complete read of the log

	mu      sync.Mutex // serialises log reads and local updates
	lastSeq uint64

	stop chan struct{}
	done chan struct{}
}

// Timing of the revocation copy (see SECURITY.md): every replica reads the
// log every pollEvery, so a revocation reaches all of them within about
// pollEvery plus a round trip; a copy not refreshed for staleAfter is
// treated as an outage.
const (
	pollEvery  = 200 * time.Millisecond
	staleAfter = time.Second
)

// outageLogEvery spaces outage log lines; each carries the count left out.
const outageLogEvery = 10 * time.Second

var pool = caddy.NewUsagePool()

// Load returns the process's Store for c, creating it on first use. It
// does no network I/O. The caller must call Release(key) in Cleanup.
func Load(ctx caddy.Context, c *Config) (s *Store, key string, err error) {
	cfg := Config{}
	if c != nil {
		cfg = *c
	}
	cfg.applyDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, "", err
	}
	repl := caddy.NewReplacer()
	cfg.Username = repl.ReplaceKnown(cfg.Username, "")
	password := repl.ReplaceKnown(cfg.Password, "")
	if cfg.TLS != nil {
		t := *cfg.TLS
		if err := t.build(cfg.Addresses[0]); err != nil {
			return nil, "", err
		}
		cfg.TLS = &t
	}
	key = poolKey(&cfg, password)
	logger := ctx.Logger().Named("state")
	v, _, err := pool.LoadOrNew(key, func() (caddy.Destructor, error) {
		var be backend = newMemory(time.Now)
		if cfg.Backend == BackendRedis {
			be = newRemote(&cfg, password)
		}
		return newStore(cfg, be, time.Now, logger), nil
	})
	if err != nil {
		return nil, "", err
	}
	return v.(*Store), key, nil
}

// Release gives back a Store obtained from Load.
func Release(key string) error {
	_, err := pool.Delete(key)
	return err
}

// Each visits every Store in use in this process (the admin revoke route).
func Each(f func(*Store)) {
	pool.Range(func(_, v any) bool {
		f(v.(*Store))
		return true
	})
}

// poolKey identifies one server as one set of credentials sees it; the
// password enters only as a hash.
func poolKey(c *Config, password string) string {
	if c.Backend == BackendMemory {
		return BackendMemory
	}
	h := sha256.Sum256([]byte(password))
	tlsKey := ""
	if c.TLS != nil {
		tlsKey = c.TLS.config.ServerName + "|" + c.TLS.CAFile
	}
	return fmt.Sprintf("redis|%s|%s|%s|%d|%s|%s|%s|%s", strings.Join(c.Addresses, ","), c.Username,
		hex.EncodeToString(h[:8]), c.DB, tlsKey, c.KeyPrefix, time.Duration(c.Timeout), time.Duration(c.DialTimeout))
}

func newStore(cfg Config, be backend, now func() time.Time, logger *zap.Logger) *Store {
	s := &Store{cfg: cfg, be: be, now: now, logger: logger, outage: throttle{every: outageLogEvery}}
	s.revs.Store(&revocationSet{})
	if be.local() {
		return s
	}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go s.poll()
	return s
}

// Destruct implements caddy.Destructor: the last config using the store
// is gone.
func (s *Store) Destruct() error {
	if s.stop != nil {
		close(s.stop)
		<-s.done
	}
	return s.be.close()
}

// Backend names the backend in use.
func (s *Store) Backend() string { return s.cfg.Backend }

// FailOpen reports whether protected routes pass while the store is down.
func (s *Store) FailOpen() bool { return s.cfg.FailOpen() }

// Revoked reports whether the session of sub (with sid, when it has one)
// at iss, minted at issued, has been revoked. It reads the local copy only:
// no I/O, no locks, no allocations.
func (s *Store) Revoked(iss, sub, sid string, issued time.Time) bool {
	return s.revs.Load().revoked(iss, sub, sid, issued.Unix())
}

// Current reports whether the local revocation copy is known to be up to
// date (within staleAfter). It is always true for the memory backend.
func (s *Store) Current() bool {
	if s.stop == nil {
		return true
	}
	return s.now().UnixNano()-s.syncedAt.Load() <= int64(staleAfter)
}

// Revoke records rv for every replica and applies it here at once.
func (s *Store) Revoke(ctx context.Context, rv Revocation) error {
	if err := s.be.revoke(ctx, rv); err != nil {
		s.Unavailable("revoke", err)
		return err
	}
	s.mu.Lock()
	s.revs.Store(s.revs.Load().with([]Revocation{rv}))
	s.mu.Unlock()
	return nil
}

// Claim marks key (of the given use, e.g. "fresh_pass" or "logout_jti")
// used for ttl, cluster-wide; false means it was already used.
func (s *Store) Claim(ctx context.Context, use, key string, ttl time.Duration) (bool, error) {
	ok, err := s.be.claim(ctx, use+":"+key, ttl)
	if err != nil {
		s.Unavailable(use, err)
	}
	return ok, err
}

// Count adds one event to key's cluster-wide counter for use in a fixed
// window, returning the count and the time left in the window.
func (s *Store) Count(ctx context.Context, use, key string, window time.Duration) (int64, time.Duration, error) {
	return s.Add(ctx, use, key, window, 1)
}

// Add adds delta (0 reads; a negative delta takes events back, never below
// 0) to key's cluster-wide counter for use in a fixed window, returning the
// count and the time left in the window.
func (s *Store) Add(ctx context.Context, use, key string, window time.Duration, delta int64) (int64, time.Duration, error) {
	n, left, err := s.be.count(ctx, use+":"+key, window, delta)
	if err != nil {
		s.Unavailable(use, err)
	}
	return n, left, err
}

// Unavailable records that use met an unreachable store: a metric, and a
// log line at most every outageLogEvery carrying the count left out.
func (s *Store) Unavailable(use string, err error) {
	storeMetrics.errors.WithLabelValues(use).Inc()
	if ok, suppressed := s.outage.allow(s.now()); ok {
		s.logger.Warn("shared state store unavailable; see the state setting's failure modes",
			zap.String("use", use), zap.String("backend", s.cfg.Backend),
			zap.Int("suppressed", suppressed), zap.Error(err))
	}
}

// poll keeps the local revocation copy current.
func (s *Store) poll() {
	defer close(s.done)
	t := time.NewTicker(pollEvery)
	defer t.Stop()
	for {
		s.sync()
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
	}
}

// sync reads the log entries this replica has not seen yet.
func (s *Store) sync() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		rs, newest, err := s.be.revocationsSince(context.Background(), s.lastSeq)
		if err != nil {
			storeMetrics.up.Set(0)
			s.Unavailable("revocation_sync", err)
			return
		}
		if newest < s.lastSeq {
			// The log restarted (a server that lost its data): read it
			// again from the start; what this replica knows stays.
			s.lastSeq = 0
			continue
		}
		if len(rs) > 0 {
			s.revs.Store(s.revs.Load().with(rs))
			s.lastSeq = rs[len(rs)-1].Seq
			storeMetrics.revocations.Set(float64(s.revs.Load().size()))
		}
		if len(rs) < readBatch {
			break
		}
	}
	storeMetrics.up.Set(1)
	s.syncedAt.Store(s.now().UnixNano())
}

// throttle lets a line through at once, then at most once per interval,
// counting those left out.
type throttle struct {
	every      time.Duration
	mu         sync.Mutex
	next       time.Time
	suppressed int
}

func (t *throttle) allow(now time.Time) (bool, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Before(t.next) {
		t.suppressed++
		return false, 0
	}
	n := t.suppressed
	t.suppressed, t.next = 0, now.Add(t.every)
	return true, n
}
