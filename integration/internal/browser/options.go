package browser

import (
	"time"
)

// Option configures New.
type Option func(*config)

type config struct {
	timeout       time.Duration
	waitTimeout   time.Duration
	width, height int
	flags         [][2]any
}

// WithTimeout sets how long the browser may live before it is killed.
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithWaitTimeout sets how long WaitURL and WaitText wait (default
// DefaultWaitTimeout). It is shorter than the browser's own timeout so that a
// failed wait still leaves a live browser for the failure screenshot.
func WithWaitTimeout(d time.Duration) Option { return func(c *config) { c.waitTimeout = d } }

// WithWindowSize sets the size of the window (and so of screenshots).
func WithWindowSize(width, height int) Option {
	return func(c *config) { c.width, c.height = width, height }
}

// WithFlag adds or overrides a Chromium command-line flag: a bool true for
// --name, false to drop a default flag, or a string for --name=value.
func WithFlag(name string, value any) Option {
	return func(c *config) { c.flags = append(c.flags, [2]any{name, value}) }
}
