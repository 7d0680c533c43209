// Package regulation bounds step-up attempts that do not complete, per
// subject and per client IP, in a fixed window counted through a (shared)
// counter. It decides; the handler answers 429 with Retry-After.
package regulation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Counter is a cluster-wide fixed-window counter (the shared state store).
// Add adds delta (0 reads; negative takes back, never below 0) and returns
// the count and the time left in the window.
type Counter interface {
	Add(ctx context.Context, use, key string, window time.Duration, delta int64) (int64, time.Duration, error)
}

// Limits are the regulator's settings, validated by the caller.
type Limits struct {
	Window  time.Duration
	Subject int64 // open attempts per subject per Window
	IP      int64 // open attempts per client IP per Window
}

// Regulator counts open step-up attempts: a login started counts one
// until its callback succeeds, so abandoned and refused logins stay
// counted; a callback that belongs to no login started by this browser
// counts one for its client IP.
type Regulator struct {
	counter Counter
	limits  Limits
	scope   string // keeps different providers' counts apart
}

// New returns a regulator counting through c under scope.
func New(c Counter, l Limits, scope string) *Regulator {
	return &Regulator{counter: c, limits: l, scope: scope}
}

// Verdict says whether an attempt may go on.
type Verdict struct {
	Refused    bool
	By         string        // "subject" or "ip": the limit that refused
	RetryAfter time.Duration // until that limit's window ends
	Err        error         // the counter could not be reached (the attempt was allowed)
}

// Uses name the counters in the store.
const (
	useSubject = "regulation_sub"
	useIP      = "regulation_ip"
)

// Start counts a login about to start for subject ("" when no one is
// signed in) from ip, and refuses it when either is over its limit. The
// refused attempt stays counted (the window does not move).
func (r *Regulator) Start(ctx context.Context, subject, ip string) Verdict {
	return r.add(ctx, subject, ip, 1)
}

// Check reads, without counting, whether subject or ip is over its limit:
// a callback is refused before its code is redeemed.
func (r *Regulator) Check(ctx context.Context, subject, ip string) Verdict {
	return r.add(ctx, subject, ip, 0)
}

// Stray counts a callback that matched no login started by this browser
// (a refused state) against its client IP.
func (r *Regulator) Stray(ctx context.Context, ip string) Verdict {
	return r.add(ctx, "", ip, 1)
}

// Completed takes back the attempt Start counted: the login succeeded.
func (r *Regulator) Completed(ctx context.Context, subject, ip string) {
	r.add(ctx, subject, ip, -1)
}

func (r *Regulator) add(ctx context.Context, subject, ip string, delta int64) Verdict {
	var v Verdict
	if ip != "" {
		v = r.one(ctx, useIP, ip, r.limits.IP, delta)
	}
	if subject != "" && !v.Refused {
		if s := r.one(ctx, useSubject, subject, r.limits.Subject, delta); s.Refused || s.Err != nil {
			v = s
		}
	}
	return v
}

func (r *Regulator) one(ctx context.Context, use, key string, limit, delta int64) Verdict {
	n, left, err := r.counter.Add(ctx, use, r.key(key), r.limits.Window, delta)
	if err != nil {
		return Verdict{Err: err} // an unreachable store must not lock everyone out
	}
	if delta >= 0 && n > limit {
		by := "ip"
		if use == useSubject {
			by = "subject"
		}
		return Verdict{Refused: true, By: by, RetryAfter: max(left, time.Second)}
	}
	return Verdict{}
}

// key hashes the subject or address with the scope: the store never holds
// either in clear.
func (r *Regulator) key(k string) string {
	h := sha256.Sum256([]byte(r.scope + "\x00" + k))
	return hex.EncodeToString(h[:16])
}
