// Package bounded is a concurrent map of fixed capacity for the caches on
// the request path (opened sessions, verified bearer tokens, signed
// assertions). It keeps their memory fixed whatever the traffic by evicting
// at random, preferring entries the cache calls stale.
package bounded

import "sync"

// Map is a map safe for concurrent use that never holds more than
// max entries.
type Map[K comparable, V any] struct {
	mu  sync.RWMutex
	m   map[K]V
	max int
}

// evictionSamples is how many entries a full map looks at to find one to
// evict: a stale one if it sees one, else the first it saw. Map iteration
// starts at a random entry, so this is random eviction biased to stale
// entries, at a fixed cost and without bookkeeping on reads.
const evictionSamples = 8

// New returns an empty map that holds at most max entries.
func New[K comparable, V any](max int) *Map[K, V] {
	return &Map[K, V]{m: make(map[K]V), max: max}
}

// Get returns k's entry, if any.
func (b *Map[K, V]) Get(k K) (V, bool) {
	b.mu.RLock()
	v, ok := b.m[k]
	b.mu.RUnlock()
	return v, ok
}

// Put adds or replaces k's entry, first evicting one when the map is full.
func (b *Map[K, V]) Put(k K, v V, stale func(V) bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.m[k]; !ok && len(b.m) >= b.max {
		var victim K
		seen := 0
		for key, e := range b.m {
			if stale(e) {
				victim = key
				break
			}
			if seen == 0 {
				victim = key
			}
			if seen++; seen == evictionSamples {
				break
			}
		}
		delete(b.m, victim)
	}
	b.m[k] = v
}

// Replace sets k's entry to v only if k still has an entry and current
// accepts it, and reports whether it did. An update computed in the
// background thus never brings back an entry that was evicted or replaced
// meanwhile.
func (b *Map[K, V]) Replace(k K, v V, current func(V) bool) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	old, ok := b.m[k]
	if !ok || !current(old) {
		return false
	}
	b.m[k] = v
	return true
}
