// Package state is the shared state of stepup handlers: what must hold
// across replicas (revoked sessions, single-use passes and logout tokens,
// cluster-wide counters). A Store wraps one backend, `memory` (in-process,
// the default) or `redis` (any server speaking the Redis protocol, such as
// Redis or Valkey), and keeps a local copy of the revocations so that the
// per-request check never touches the network.
package state

import (
	"context"
	"errors"
	"time"
)

// backend is what a store needs from where the state lives. Every method
// but close may do network I/O and is never called on the request fast path.
type backend interface {
	// claim records key as used for ttl; it reports false when key was
	// already claimed and has not expired (set-if-absent).
	claim(ctx context.Context, key string, ttl time.Duration) (bool, error)

	// revoke appends r to the revocation log.
	revoke(ctx context.Context, r Revocation) error

	// revocationsSince returns the log's entries after sequence number
	// after, oldest first, and the log's newest sequence number. A newest
	// below after means the log was lost (a store restarted empty) and the
	// caller must start over from 0.
	revocationsSince(ctx context.Context, after uint64) (entries []Revocation, newest uint64, err error)

	// count adds delta (which may be 0 or negative; the counter never goes
	// below 0) to key's counter in the fixed window that starts at its
	// first count, and returns the new value and the time left in the window.
	count(ctx context.Context, key string, window time.Duration, delta int64) (int64, time.Duration, error)

	// mergeCounts adds to and reads shared frequency counts (Store.MergeCounts).
	mergeCounts(ctx context.Context, window time.Duration, win int64, keys []string, adds, cur, prev []int64) error

	// local is true for the in-process backend: nothing to poll.
	local() bool

	close() error
}

// Revocation ends the sessions of Subject (or, when SID is set, only the
// session with that sid) at Issuer that were issued at or before Before.
type Revocation struct {
	Issuer  string `json:"iss"`
	Subject string `json:"sub,omitempty"`
	SID     string `json:"sid,omitempty"`
	Before  int64  `json:"before"` // unix seconds
	Seq     uint64 `json:"-"`      // position in the log, set when read
}

// ErrUnavailable wraps every error that comes from an unreachable store.
var ErrUnavailable = errors.New("shared state store unavailable")
