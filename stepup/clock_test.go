package stepup

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
)

// clock is a settable time source for tests.
type clock struct{ t atomic.Int64 }

func newClock(t time.Time) *clock    { c := &clock{}; c.t.Store(t.UnixNano()); return c }
func (c *clock) now() time.Time      { return time.Unix(0, c.t.Load()) }
func (c *clock) add(d time.Duration) { c.t.Add(int64(d)) }

func testStorage(t *testing.T) certmagic.Storage {
	return objectNameStorage{&certmagic.FileStorage{Path: t.TempDir()}}
}
