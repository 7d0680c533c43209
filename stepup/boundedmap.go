package stepup

import "sync"

// boundedMap is a map safe for concurrent use that never holds more than
// max entries: the caches of the request path (sessioncache.go,
// bearercache.go) keep memory fixed whatever the traffic.
type boundedMap[K comparable, V any] struct {
	mu  sync.RWMutex
	m   map[K]V
	max int
}

// evictionSamples is how many entries a full map looks at to find one to
// evict: a stale one if it sees one, else the first it saw. Map iteration
// starts at a random entry, so this is random eviction biased to stale
// entries, at a fixed cost and without bookkeeping on reads.
const evictionSamples = 8

func newBoundedMap[K comparable, V any](max int) *boundedMap[K, V] {
	return &boundedMap[K, V]{m: make(map[K]V), max: max}
}

func (b *boundedMap[K, V]) get(k K) (V, bool) {
	b.mu.RLock()
	v, ok := b.m[k]
	b.mu.RUnlock()
	return v, ok
}

// put adds or replaces k's entry, first evicting one when the map is full.
func (b *boundedMap[K, V]) put(k K, v V, stale func(V) bool) {
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

func (b *boundedMap[K, V]) len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.m)
}
