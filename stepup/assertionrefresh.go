package stepup

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// assertionRefreshers bounds, process-wide, the re-signings of cached
// assertions running at once: signing is CPU work, so more of them than a
// couple would only compete with requests for the cores. When all are busy
// a due entry is not re-signed yet; it is still handed out until only half
// its lifetime is left, and the next request that reuses it tries again.
const assertionRefreshers = 2

// assertionRefreshSlots holds one token per re-signing running, shared by
// every handler of the process.
var assertionRefreshSlots = make(chan struct{}, assertionRefreshers)

// assertionRefreshQueue bounds the re-signings waiting for a handler's
// worker. A reuse that finds the queue full leaves its entry as it is, as
// when every refresher is busy.
const assertionRefreshQueue = 64

// assertionRefreshTimeout bounds one re-signing (loading the keys may read
// storage).
const assertionRefreshTimeout = 10 * time.Second

// assertionRefreshTick is how often the worker looks at its queue while
// there is work, at most: a request queues an entry without waking it, since
// waking a parked goroutine costs the request a system call (futex) and a
// thread switch, microseconds on a busy machine. A due entry has at least an
// eighth of the lifetime left (assertionEntry.due), two ticks or more, so
// waiting for the next tick still re-signs it in time.
func assertionRefreshTick(lifetime time.Duration) time.Duration {
	return min(lifetime/16, 100*time.Millisecond)
}

// assertionRefreshIdleTicks is how many ticks without work the worker waits
// before it parks; the next request that queues an entry wakes it (one
// wake-up per idle spell, not per entry).
const assertionRefreshIdleTicks = 20

// refreshJob is one entry to re-sign.
type refreshJob struct {
	key   assertionCacheKey
	entry *assertionEntry
}

// refresher is the one long-lived goroutine of an asserter that re-signs
// due entries and keeps the nonce pool filled, so that a request hands it
// work with a non-blocking channel send (or by taking a nonce) instead of
// starting a goroutine. It starts with the first re-signing or signature
// and stops on Cleanup.
type refresher struct {
	jobs   chan refreshJob
	wake   chan struct{} // capacity 1: the worker is parked, or a test flushes
	parked atomic.Bool   // the worker waits for wake, not for its tick
	wakes  atomic.Uint64 // times a request woke it
	tick   time.Duration
	ctx    context.Context // cancelled on Cleanup: stops the worker and its storage reads
	cancel context.CancelFunc
	start  sync.Once
	done   sync.WaitGroup // the worker
}

func newRefresher(lifetime time.Duration) *refresher {
	ctx, cancel := context.WithCancel(context.Background())
	return &refresher{
		jobs: make(chan refreshJob, assertionRefreshQueue), wake: make(chan struct{}, 1),
		tick: assertionRefreshTick(lifetime), ctx: ctx, cancel: cancel,
	}
}

// refresh queues e, k's entry, for the worker to re-sign, unless it is
// being (or was) re-signed already or the queue is full. Only a request that
// reuses the entry calls it — a request that has just passed the handler's
// checks with k's session — so an entry nobody asks for any more (a revoked
// or logged-out session, a client gone away) is never re-signed: it dies
// when half its lifetime is over or the cache bound evicts it.
func (a *asserter) refresh(k *assertionCacheKey, e *assertionEntry) {
	if !e.refreshing.CompareAndSwap(false, true) {
		return
	}
	f := a.refresher
	a.inflight.Add(1)
	select {
	case f.jobs <- refreshJob{key: *k, entry: e}:
	default:
		e.refreshing.Store(false)
		a.inflight.Done()
		return
	}
	a.kick()
}

// kick makes sure the worker will look at its work: it starts it the first
// time and wakes it if it is parked; a ticking worker finds the work at its
// next tick, which costs the caller nothing.
func (a *asserter) kick() {
	f := a.refresher
	f.start.Do(func() {
		f.done.Add(1)
		go a.refreshLoop()
	})
	if f.parked.Load() && f.parked.CompareAndSwap(true, false) {
		f.wakes.Add(1)
		f.signal()
	}
}

// signal wakes the worker if it is parked and cuts its tick short if not.
func (f *refresher) signal() {
	select {
	case f.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// refreshLoop is the worker: every tick it does tickWork; after
// assertionRefreshIdleTicks ticks with nothing to do, and its nonces
// expired, it parks until a request queues an entry or finds the pool low.
// It stops on Cleanup.
func (a *asserter) refreshLoop() {
	f := a.refresher
	defer f.done.Done()
	// The first tick at once: whatever started the worker (a signature that
	// found the pool empty, a re-signing) has work for it now.
	t := time.NewTimer(0)
	defer t.Stop()
	idle := 0
	for {
		var tick <-chan time.Time
		// It parks only with the pool empty: a quiet process keeps no
		// nonce (they expire), so a snapshot of it has none to reuse
		// (assertionnonce.go). The next signature finds the pool empty,
		// signs whole and wakes the worker to fill it.
		if idle < assertionRefreshIdleTicks || a.nonces.holds() {
			tick = t.C
		} else {
			f.parked.Store(true)
			if len(f.jobs) > 0 && f.parked.CompareAndSwap(true, false) {
				// Queued before it could see the flag: do not sleep on it.
				idle = 0
				continue
			}
		}
		select {
		case <-f.ctx.Done():
			// Whatever is still queued is dropped (its entries die with
			// the handler).
			for {
				select {
				case <-f.jobs:
					a.inflight.Done()
				default:
					return
				}
			}
		case <-tick:
		case <-f.wake:
			f.parked.Store(false)
		}
		if a.tickWork() == 0 {
			idle++
		} else {
			idle = 0
		}
		t.Reset(f.tick)
	}
}

// drainRefresh re-signs every queued entry and returns how many there were.
func (a *asserter) drainRefresh() int {
	for n := 0; ; n++ {
		select {
		case j := <-a.refresher.jobs:
			a.resign(&j.key, j.entry)
			a.inflight.Done()
		default:
			return n
		}
	}
}

// tickWork is one tick of the worker: expire the pool's nonces if they
// are too old, fill it if it is low, then re-sign what is queued (with the
// nonces). It returns how many nonces and re-signings it made.
func (a *asserter) tickWork() int {
	a.nonces.expire(a.now())
	return a.fillNonces() + a.drainRefresh()
}

// fillNonces tops the nonce pool up if a refresher slot is free and returns
// how many nonces it made. An error (crypto/rand failing) leaves the pool
// as it is: signers then sign without it.
func (a *asserter) fillNonces() int {
	if !a.nonces.needsFill() {
		return 0
	}
	select {
	case a.slots <- struct{}{}:
	default:
		return 0
	}
	defer func() { <-a.slots }()
	made, _ := a.nonces.topUp(a.now())
	return made
}

// resign replaces e, k's entry, with a fresh signature if a refresher slot
// is free.
func (a *asserter) resign(k *assertionCacheKey, e *assertionEntry) {
	select {
	case a.slots <- struct{}{}:
	default:
		e.refreshing.Store(false)
		return
	}
	defer func() { <-a.slots }()
	ctx, cancel := context.WithTimeout(a.refresher.ctx, assertionRefreshTimeout)
	defer cancel()
	fresh, err := a.signEntry(ctx, k, a.now())
	if err != nil || !a.cache.replace(k, e, fresh) {
		// The entry stays as it was (or is gone): a later reuse tries
		// again, and once it expires a request signs inline and logs any
		// error.
		e.refreshing.Store(false)
		return
	}
	a.refreshed.Add(1)
}

// close stops the worker and waits for it: at most the signature it is
// making, since its storage reads are cancelled. A request still running
// on the old config afterwards may queue an entry that is then never
// re-signed; it is signed inline once it expires, like any other.
func (a *asserter) close() {
	f := a.refresher
	f.cancel()
	// A worker not started yet must not start after this.
	f.start.Do(func() {})
	f.done.Wait()
}
