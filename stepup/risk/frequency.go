package risk

import (
	"hash/maphash"
	"math/bits"
	"net/netip"
	"sync"
	"time"
)

// frequency is the frequency_session and frequency_ip signals.
type frequency struct {
	weight    int
	limit     uint64
	ipLimit   uint64
	bySession *counterTable
	byIP      *counterTable
	shared    *shared // nil: counts are this replica's only
}

func newFrequency(c *FrequencyConfig) *frequency {
	w := time.Duration(c.Window)
	return &frequency{
		weight:    c.Weight,
		limit:     uint64(c.Limit),
		ipLimit:   uint64(c.IPLimit),
		bySession: newCounterTable(c.Capacity, w),
		byIP:      newCounterTable(c.Capacity, w),
	}
}

// evaluate counts this request and scores the counts: this replica's, plus
// the other replicas' as last read when the counts are shared.
func (f *frequency) evaluate(req *Request, ip netip.Addr, out *Result) {
	sh := f.shared
	if ip.IsValid() {
		n := f.byIP.hit(f.byIP.ipKey(ip), req.Now)
		if sh != nil {
			n += sh.note(ipSharedKey(ip), req.Now)
		}
		if n > f.ipLimit {
			out.add(SignalFrequencyIP, f.weight, false)
		}
	}
	if req.SessionKey != 0 {
		n := f.bySession.hit(f.bySession.uintKey(req.SessionKey), req.Now)
		if sh != nil {
			n += sh.note(sharedKey{'s', req.SessionKey}, req.Now)
		}
		if n > f.limit {
			out.add(SignalFrequencySession, f.weight, false)
		}
	}
}

// counterTable counts events per key over a sliding window in fixed memory.
//
// It is a set-associative hash table: 4 slots of 16 bytes per 64-byte
// bucket (one cache line), capacity/4 buckets, allocated once. A slot holds
// a 64-bit key hash and two counters, the current and the previous fixed
// window; the sliding count is previous × (share of the window not yet
// elapsed) + current, the usual sliding-window-counter approximation. When a
// new key finds its bucket full, it replaces the slot with the lowest
// sliding count (stale slots count 0), so heavy hitters stay tracked while
// one-off keys churn: a key can be under-counted after eviction, never
// over-counted (but for a 2^-64 hash collision). Keys are hashed with a
// random per-table seed, so clients cannot aim at one bucket.
type counterTable struct {
	buckets []bucket
	shift   uint // hash >> shift is the bucket index
	window  int64
	seed    maphash.Seed
	locks   [lockStripes]stripe
}

const lockStripes = 256

type stripe struct {
	sync.Mutex
	_ [64 - 8]byte // one lock per cache line
}

type bucket [4]slot

type slot struct {
	key  uint64 // hash of the key, never 0; 0 marks a free slot
	win  uint32 // index of the window cur counts
	cur  uint16 // saturating
	prev uint16 // the window before win
}

// slotBytes is the size of one slot, for the memory figure in the docs.
const slotBytes = 16

func newCounterTable(capacity int, window time.Duration) *counterTable {
	n := max((capacity+len(bucket{})-1)/len(bucket{}), lockStripes)
	n = 1 << bits.Len(uint(n-1)) // round up to a power of two
	return &counterTable{
		buckets: make([]bucket, n),
		shift:   uint(64 - bits.Len(uint(n-1))),
		window:  int64(window),
		seed:    maphash.MakeSeed(),
	}
}

// ipKey hashes a client address; an IPv6 client is counted per /64, the
// block one subscriber usually gets.
func (t *counterTable) ipKey(ip netip.Addr) uint64 {
	if ip.Is4() {
		return nonZero(maphash.Comparable(t.seed, addr4(ip)))
	}
	a := addr6(ip)
	return nonZero(maphash.Comparable(t.seed, a.hi))
}

func (t *counterTable) uintKey(k uint64) uint64 {
	return nonZero(maphash.Comparable(t.seed, k))
}

func nonZero(h uint64) uint64 {
	if h == 0 {
		return 1
	}
	return h
}

// hit counts one event for key at now and returns the sliding count,
// including this event.
func (t *counterTable) hit(key uint64, now time.Time) uint64 {
	ns := now.UnixNano()
	win := uint32(ns / t.window)
	elapsed := ns % t.window
	var i uint64
	if t.shift < 64 {
		i = key >> t.shift
	}
	lock := &t.locks[i%lockStripes]
	lock.Lock()
	defer lock.Unlock()
	b := &t.buckets[i]
	s := t.find(b, key, win, elapsed)
	switch {
	case s.win == win:
		if s.cur < 1<<16-1 {
			s.cur++
		}
	case s.win+1 == win:
		s.prev, s.cur, s.win = s.cur, 1, win
	default:
		s.prev, s.cur, s.win = 0, 1, win
	}
	return t.count(s, win, elapsed)
}

// find returns key's slot in b, claiming a free or the least active one for
// a new key.
func (t *counterTable) find(b *bucket, key uint64, win uint32, elapsed int64) *slot {
	victim := &b[0]
	low := ^uint64(0)
	for j := range b {
		s := &b[j]
		if s.key == key {
			return s
		}
		if c := t.count(s, win, elapsed); s.key == 0 || c < low {
			victim, low = s, c
			if s.key == 0 {
				low = 0
			}
		}
	}
	*victim = slot{key: key, win: win}
	return victim
}

// count is the sliding-window estimate for s at (win, elapsed).
func (t *counterTable) count(s *slot, win uint32, elapsed int64) uint64 {
	switch {
	case s.key == 0:
		return 0
	case s.win == win:
		return uint64(s.prev)*uint64(t.window-elapsed)/uint64(t.window) + uint64(s.cur)
	case s.win+1 == win:
		return uint64(s.cur) * uint64(t.window-elapsed) / uint64(t.window)
	}
	return 0
}
