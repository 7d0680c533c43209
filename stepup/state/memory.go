package state

import (
	"context"
	"sync"
	"time"
)

// memory keeps the state in this process: what a single instance needs.
// Several handlers in one process share it through the store pool.
type memory struct {
	now func() time.Time

	mu      sync.Mutex
	claims  map[string]time.Time // key → expiry
	counts  map[string]memCount
	nextGC  time.Time
	gcEvery time.Duration
}

type memCount struct {
	n   int64
	end time.Time
}

func newMemory(now func() time.Time) *memory {
	return &memory{now: now, claims: map[string]time.Time{}, counts: map[string]memCount{}, gcEvery: time.Minute}
}

func (m *memory) claim(_ context.Context, key string, ttl time.Duration) (bool, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gc(now)
	if exp, ok := m.claims[key]; ok && now.Before(exp) {
		return false, nil
	}
	m.claims[key] = now.Add(ttl)
	return true, nil
}

// revoke has nothing to record: in one process the store's local copy,
// which Store.Revoke updates, is the whole truth.
func (m *memory) revoke(context.Context, Revocation) error { return nil }

func (m *memory) revocationsSince(context.Context, uint64) ([]Revocation, uint64, error) {
	return nil, 0, nil
}

func (m *memory) count(_ context.Context, key string, window time.Duration, delta int64) (int64, time.Duration, error) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gc(now)
	c := m.counts[key]
	if !now.Before(c.end) {
		c = memCount{end: now.Add(window)}
	}
	c.n = max(c.n+delta, 0)
	m.counts[key] = c
	return c.n, c.end.Sub(now), nil
}

// gc drops expired claims and counters at most once a minute, so the maps
// hold only what is live.
func (m *memory) gc(now time.Time) {
	if now.Before(m.nextGC) {
		return
	}
	m.nextGC = now.Add(m.gcEvery)
	for k, exp := range m.claims {
		if !now.Before(exp) {
			delete(m.claims, k)
		}
	}
	for k, c := range m.counts {
		if !now.Before(c.end) {
			delete(m.counts, k)
		}
	}
}

func (m *memory) local() bool  { return true }
func (m *memory) close() error { return nil }
