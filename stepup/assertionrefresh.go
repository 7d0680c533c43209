package stepup

import (
	"context"
	"time"
)

// assertionRefreshers bounds, process-wide, the goroutines that re-sign
// cached assertions in the background: signing is CPU work, so more of them
// than a couple would only compete with requests for the cores. When all
// are busy a due entry is not re-signed yet; it is still handed out until
// only half its lifetime is left, and the next request that reuses it tries
// again.
const assertionRefreshers = 2

// assertionRefreshSlots holds one token per running re-signing goroutine,
// shared by every handler of the process.
var assertionRefreshSlots = make(chan struct{}, assertionRefreshers)

// assertionRefreshTimeout bounds one re-signing (loading the keys may read
// storage).
const assertionRefreshTimeout = 10 * time.Second

// refresh re-signs e, k's entry, in the background, unless it is being (or
// was) re-signed already or every refresher is busy. Only a request that
// reuses the entry calls it — a request that has just passed the handler's
// checks with k's session — so an entry nobody asks for any more (a revoked
// or logged-out session, a client gone away) is never re-signed: it dies
// when half its lifetime is over or the cache bound evicts it.
func (a *asserter) refresh(k *assertionCacheKey, e *assertionEntry) {
	if !e.refreshing.CompareAndSwap(false, true) {
		return
	}
	select {
	case a.slots <- struct{}{}:
	default:
		e.refreshing.Store(false)
		return
	}
	key := *k
	a.inflight.Add(1)
	go func() {
		defer a.inflight.Done()
		defer func() { <-a.slots }()
		ctx, cancel := context.WithTimeout(context.Background(), assertionRefreshTimeout)
		defer cancel()
		fresh, err := a.signEntry(ctx, &key, a.now())
		if err != nil || !a.cache.replace(&key, e, fresh) {
			// The entry stays as it was (or is gone): a later reuse tries
			// again, and once it expires a request signs inline and logs
			// any error.
			e.refreshing.Store(false)
			return
		}
		a.refreshed.Add(1)
	}()
}
