package risk

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// CountStore is where replicas merge their frequency counts (the shared
// state store). It is called from a background goroutine only, never on a
// request's path.
type CountStore interface {
	// MergeCounts adds adds[i] events to keys[i] in the fixed window number
	// win (windows are window long, counted from the Unix epoch), and sets
	// cur[i] and prev[i] to the events other replicas counted for keys[i]
	// in windows win and win-1.
	MergeCounts(ctx context.Context, window time.Duration, win int64, keys []string, adds, cur, prev []int64) error
}

// SyncEvery is how often a replica sharing its frequency counts pushes what
// it counted and reads back the other replicas' counts. A request on one
// replica is seen by another replica counting the same key within two
// rounds plus a round trip to the store (see SECURITY.md).
const SyncEvery = 100 * time.Millisecond

// maxBatch bounds the keys of one call to the store; maxRefresh the keys a
// round reads again without new local events (the busiest replica-local
// keys are counted again soon anyway, and are then read again).
const (
	maxBatch   = 512
	maxRefresh = 4096
)

// shared merges one engine's frequency counts with other replicas'. The
// request path adds to a pending count and reads the other replicas'
// counts from an immutable map swapped in by the sync goroutine: no
// network I/O, no allocation once the maps have grown.
type shared struct {
	store  CountStore
	scope  string
	window int64 // nanoseconds
	onErr  func(error)
	limit  int // keys pending per stripe

	stripes [pendingStripes]pendingStripe
	remote  atomic.Pointer[map[sharedKey]remoteCount]
}

const pendingStripes = 16

type pendingStripe struct {
	sync.Mutex
	m     map[sharedKey]uint32 // events since the last push
	spare map[sharedKey]uint32 // the previous round's map, cleared, reused
}

// sharedKey names a counted thing the same way on every replica: a
// session key, or an IPv4 address / IPv6 /64.
type sharedKey struct {
	kind byte // 's' session, '4' IPv4, '6' IPv6 /64
	v    uint64
}

// remoteCount is what other replicas counted for a key in window win and
// the window before, as last read.
type remoteCount struct {
	win       int64
	seen      int64 // the window this replica last counted the key in
	cur, prev uint32
}

func newShared(store CountStore, scope string, window time.Duration, capacity int, onErr func(error)) *shared {
	s := &shared{store: store, scope: scope, window: int64(window), onErr: onErr,
		limit: max(capacity/pendingStripes, 64)}
	for i := range s.stripes {
		s.stripes[i].m = map[sharedKey]uint32{}
		s.stripes[i].spare = map[sharedKey]uint32{}
	}
	empty := map[sharedKey]remoteCount{}
	s.remote.Store(&empty)
	return s
}

func ipSharedKey(ip netip.Addr) sharedKey {
	if ip.Is4() {
		return sharedKey{'4', uint64(addr4(ip))}
	}
	return sharedKey{'6', addr6(ip).hi}
}

// note counts one local event for k at now and returns the other
// replicas' sliding count for k, as last read.
func (s *shared) note(k sharedKey, now time.Time) uint64 {
	st := &s.stripes[(k.v^uint64(k.kind))%pendingStripes]
	st.Lock()
	if n, ok := st.m[k]; ok {
		st.m[k] = n + 1
	} else if len(st.m) < s.limit {
		st.m[k] = 1
	} // else: too many keys this round; counted locally only
	st.Unlock()
	rc, ok := (*s.remote.Load())[k]
	if !ok {
		return 0
	}
	ns := now.UnixNano()
	win, elapsed := ns/s.window, ns%s.window
	switch rc.win {
	case win:
		return uint64(rc.prev)*uint64(s.window-elapsed)/uint64(s.window) + uint64(rc.cur)
	case win - 1:
		return uint64(rc.cur) * uint64(s.window-elapsed) / uint64(s.window)
	}
	return 0
}

// run syncs every SyncEvery until stop is closed.
func (s *shared) run(stop <-chan struct{}, now func() time.Time) {
	t := time.NewTicker(SyncEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			s.sync(now())
		}
	}
}

// sync pushes the events counted since the last round and reads back the
// other replicas' counts for every key this replica has counted in this
// window or the last (up to maxRefresh of those not seen this round), so
// that a replica counting a key keeps hearing of the others' events for
// it. When the store cannot be reached, the round's events are dropped and
// the engine falls back to local counts until a round succeeds.
func (s *shared) sync(now time.Time) {
	win := now.UnixNano() / s.window
	var keys []sharedKey
	var adds []int64
	for i := range s.stripes {
		st := &s.stripes[i]
		st.Lock()
		m := st.m
		st.m, st.spare = st.spare, nil
		st.Unlock()
		for k, n := range m {
			keys = append(keys, k)
			adds = append(adds, int64(n))
		}
		clear(m)
		st.Lock()
		st.spare = m
		st.Unlock()
	}
	seen := make(map[sharedKey]int64, len(keys)) // key → window it was last counted here
	for _, k := range keys {
		seen[k] = win
	}
	refresh := 0
	for k, rc := range *s.remote.Load() {
		if _, ok := seen[k]; ok || rc.seen < win-1 || refresh >= maxRefresh {
			continue
		}
		seen[k] = rc.seen
		keys = append(keys, k)
		adds = append(adds, 0)
		refresh++
	}
	next := make(map[sharedKey]remoteCount, len(keys))
	names := make([]string, 0, maxBatch)
	cur, prev := make([]int64, maxBatch), make([]int64, maxBatch)
	for start := 0; start < len(keys); start += maxBatch {
		end := min(start+maxBatch, len(keys))
		names = names[:0]
		for _, k := range keys[start:end] {
			names = append(names, s.name(k))
		}
		n := end - start
		err := s.store.MergeCounts(context.Background(), time.Duration(s.window), win, names, adds[start:end], cur[:n], prev[:n])
		if err != nil {
			if s.onErr != nil {
				s.onErr(err)
			}
			empty := map[sharedKey]remoteCount{}
			s.remote.Store(&empty)
			return
		}
		for i, k := range keys[start:end] {
			next[k] = remoteCount{win: win, seen: seen[k], cur: clamp32(cur[i]), prev: clamp32(prev[i])}
		}
	}
	s.remote.Store(&next)
}

// name is the key's name in the store: the engine's scope and a hash of
// the kind and value, so that no client address appears in the store in
// clear. The store's keys expire after two windows.
func (s *shared) name(k sharedKey) string {
	var b [9]byte
	b[0] = k.kind
	binary.BigEndian.PutUint64(b[1:], k.v)
	h := sha256.Sum256(append([]byte(s.scope), b[:]...))
	return s.scope + hex.EncodeToString(h[:12])
}

func clamp32(v int64) uint32 {
	return uint32(min(max(v, 0), 1<<32-1))
}

// ShareFrequency merges the engine's frequency counts with other replicas'
// through store, under scope (which must name the same handler on every
// replica). Call it once, before the first Evaluate; it does no I/O: a
// goroutine syncs every SyncEvery until Close. onErr hears of each failed
// round (nil: nobody). Without a frequency block it does nothing.
func (e *Engine) ShareFrequency(store CountStore, scope string, now func() time.Time, onErr func(error)) {
	if e.freq == nil || e.freq.shared != nil {
		return
	}
	f := e.cfg.Frequency
	e.freq.shared = newShared(store, scope, time.Duration(f.Window), f.Capacity, onErr)
	go e.freq.shared.run(e.stop, now)
}

// SessionKey identifies a session for the frequency signal, the same on
// every replica: FNV-1a of the subject and the session's issue time. The
// counting tables hash it again with their own random seed.
func SessionKey(subject string, issued int64) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(subject); i++ {
		h = (h ^ uint64(subject[i])) * 1099511628211
	}
	for i := range 8 {
		h = (h ^ uint64(byte(issued>>(8*i)))) * 1099511628211
	}
	return h | 1 // never 0, which means "no session"
}
