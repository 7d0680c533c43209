package risk

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// fakeCounts is a shared count store in memory, for the failure paths and
// the arithmetic; frequencyshare_redis_test.go runs a real server.
type fakeCounts struct {
	mu   sync.Mutex
	n    map[string]map[int64]map[string]int64 // key → window → replica → events
	down bool
}

type fakeReplica struct {
	*fakeCounts
	id string
}

func (f fakeReplica) MergeCounts(_ context.Context, _ time.Duration, win int64, keys []string, adds, cur, prev []int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down {
		return errors.New("store down")
	}
	others := func(k string, w int64) int64 {
		var t int64
		for id, n := range f.n[k][w] {
			if id != f.id {
				t += n
			}
		}
		return t
	}
	for i, k := range keys {
		if f.n[k] == nil {
			f.n[k] = map[int64]map[string]int64{}
		}
		if f.n[k][win] == nil {
			f.n[k][win] = map[string]int64{}
		}
		f.n[k][win][f.id] += adds[i]
		cur[i], prev[i] = others(k, win), others(k, win-1)
	}
	return nil
}

// sharedEngines builds n engines (replicas) sharing counts through store;
// the test runs their sync rounds itself.
func sharedEngines(t *testing.T, n int, store *fakeCounts) []*Engine {
	var es []*Engine
	for i := range n {
		e := frequencyEngine(t) // limit 5 per session, 8 per IP, 1 min window
		f := e.cfg.Frequency
		e.freq.shared = newShared(fakeReplica{store, string(rune('A' + i))}, "scope:", time.Duration(f.Window), f.Capacity, nil)
		es = append(es, e)
	}
	return es
}

// syncAll runs two rounds on every replica: a replica's events reach the
// others within two rounds (the first may read before the pushing replica
// has pushed).
func syncAll(es []*Engine, now time.Time) {
	for range 2 {
		for _, e := range es {
			e.freq.shared.sync(now)
		}
	}
}

func TestABurstSpreadOverReplicasScoresAtTheGlobalLimit(t *testing.T) {
	store := &fakeCounts{n: map[string]map[int64]map[string]int64{}}
	es := sharedEngines(t, 3, store)
	start := t0.Truncate(time.Minute)
	var fired []int
	for i := range 12 {
		// One session from many addresses, round-robin over three
		// replicas, each replica syncing between requests.
		now := start.Add(time.Duration(i) * time.Second)
		ip := netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})
		r := evaluate(es[i%3], Request{Now: now, ClientIP: ip, SessionKey: 42})
		if r.Has(SignalFrequencySession) {
			fired = append(fired, i+1)
		}
		syncAll(es, now)
	}
	// Limit 5: the 6th request overall is the first over it, whichever
	// replica gets it; alone, no replica sees more than 4.
	if len(fired) == 0 || fired[0] != 6 || len(fired) != 7 {
		t.Fatalf("frequency_session fired on requests %v, want 6..12", fired)
	}
}

func TestSharedIPCountsMergeToo(t *testing.T) {
	store := &fakeCounts{n: map[string]map[int64]map[string]int64{}}
	es := sharedEngines(t, 2, store)
	start := t0.Truncate(time.Minute)
	ip := netip.MustParseAddr("2001:db8:1:2::1")
	for i := range 8 {
		// Different hosts of one /64, alternating replicas: 8 is the limit.
		now := start.Add(time.Duration(i) * time.Second)
		host := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 15: byte(i)})
		if r := evaluate(es[i%2], Request{Now: now, ClientIP: host}); r.Has(SignalFrequencyIP) {
			t.Fatalf("request %d fired below the limit", i+1)
		}
		syncAll(es, now)
	}
	if r := evaluate(es[0], Request{Now: start.Add(9 * time.Second), ClientIP: ip}); !r.Has(SignalFrequencyIP) {
		t.Error("the 9th request from the /64 over two replicas did not fire frequency_ip")
	}
}

func TestOtherReplicasCountsSlideOutOfTheWindow(t *testing.T) {
	store := &fakeCounts{n: map[string]map[int64]map[string]int64{}}
	es := sharedEngines(t, 2, store)
	start := t0.Truncate(time.Minute)
	for i := range 5 {
		now := start.Add(time.Duration(i) * time.Second)
		evaluate(es[1], Request{Now: now, SessionKey: 9})
		syncAll(es, now)
	}
	// A has seen the session once, so it reads B's 5 at each round.
	evaluate(es[0], Request{Now: start.Add(6 * time.Second), SessionKey: 9})
	syncAll(es, start.Add(6*time.Second))
	if r := evaluate(es[0], Request{Now: start.Add(7 * time.Second), SessionKey: 9}); !r.Has(SignalFrequencySession) {
		t.Fatal("7 requests over two replicas did not fire (limit 5)")
	}
	syncAll(es, start.Add(7*time.Second))
	// Two windows later nothing of it counts.
	if r := evaluate(es[0], Request{Now: start.Add(150 * time.Second), SessionKey: 9}); r.Has(SignalFrequencySession) {
		t.Error("counts from two windows ago still fire")
	}
}

func TestAnUnreachableStoreFallsBackToLocalCounts(t *testing.T) {
	store := &fakeCounts{n: map[string]map[int64]map[string]int64{}}
	var errs int
	es := sharedEngines(t, 2, store)
	es[0].freq.shared.onErr = func(error) { errs++ }
	start := t0.Truncate(time.Minute)
	for i := range 5 {
		now := start.Add(time.Duration(i) * time.Second)
		evaluate(es[1], Request{Now: now, SessionKey: 3})
		syncAll(es, now)
	}
	evaluate(es[0], Request{Now: start.Add(5 * time.Second), SessionKey: 3})
	syncAll(es, start.Add(5*time.Second))
	store.mu.Lock()
	store.down = true
	store.mu.Unlock()
	syncAll(es, start.Add(6*time.Second))
	if errs != 1 {
		t.Fatalf("%d errors reported, want 1 (the round after it has nothing left to read)", errs)
	}
	// B's 5 are forgotten: A's own 2 are under the limit.
	if r := evaluate(es[0], Request{Now: start.Add(7 * time.Second), SessionKey: 3}); r.Has(SignalFrequencySession) {
		t.Error("with the store down, A still scores other replicas' counts")
	}
	store.mu.Lock()
	store.down = false
	store.mu.Unlock()
	syncAll(es, start.Add(8*time.Second))
	if r := evaluate(es[0], Request{Now: start.Add(9 * time.Second), SessionKey: 3}); !r.Has(SignalFrequencySession) {
		t.Error("once the store is back, A does not score B's counts again")
	}
}

func TestSharedCountingDoesNotAllocateOnTheRequestPath(t *testing.T) {
	store := &fakeCounts{n: map[string]map[int64]map[string]int64{}}
	es := sharedEngines(t, 1, store)
	req := Request{Now: t0, ClientIP: netip.MustParseAddr("192.0.2.7"), SessionKey: 11}
	var out Result
	es[0].Evaluate(&req, &out)
	syncAll(es, t0)
	es[0].Evaluate(&req, &out) // the maps have their keys again
	if n := testing.AllocsPerRun(100, func() { es[0].Evaluate(&req, &out) }); n != 0 {
		t.Errorf("%.1f allocations per request", n)
	}
}

func TestSessionKeyIsTheSameOnEveryReplicaAndNeverZero(t *testing.T) {
	if first, again := SessionKey("alice", 100), SessionKey("alice", 100); first != again {
		t.Fatal("not deterministic")
	}
	if SessionKey("alice", 100) == SessionKey("alice", 101) || SessionKey("alice", 100) == SessionKey("bob", 100) {
		t.Error("different sessions share a key")
	}
	if SessionKey("", 0) == 0 {
		t.Error("zero key")
	}
}
