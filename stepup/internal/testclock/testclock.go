// Package testclock is a settable time source for tests: the now func the
// stepup packages take (style: time is injected) without the wall clock.
package testclock

import (
	"sync/atomic"
	"time"
)

// Clock is a time that moves only when told; safe for concurrent use.
type Clock struct{ t atomic.Int64 }

// New returns a clock reading t.
func New(t time.Time) *Clock { c := &Clock{}; c.t.Store(t.UnixNano()); return c }

// Now is the clock's time; pass c.Now where a now func is wanted.
func (c *Clock) Now() time.Time { return time.Unix(0, c.t.Load()) }

// Add moves the clock by d.
func (c *Clock) Add(d time.Duration) { c.t.Add(int64(d)) }

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) { c.t.Store(t.UnixNano()) }
