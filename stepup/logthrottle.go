package stepup

import (
	"sync"
	"time"
)

// logThrottle keeps a condition that repeats on every request, such as an
// IdP outage refusing each protected request, from burying the log: the
// first occurrence is logged at once, later ones at most once per interval,
// each line carrying how many were left out since the one before.
type logThrottle struct {
	every time.Duration

	mu         sync.Mutex
	next       time.Time // no line before this
	suppressed int
}

// allow reports whether to log an occurrence at now and, if so, how many
// occurrences since the previous line were not logged.
func (t *logThrottle) allow(now time.Time) (ok bool, suppressed int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Before(t.next) {
		t.suppressed++
		return false, 0
	}
	suppressed, t.suppressed = t.suppressed, 0
	t.next = now.Add(t.every)
	return true, suppressed
}
