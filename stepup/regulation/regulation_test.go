package regulation

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// memCounter is a fixed-window counter in memory for the logic; the real
// store (memory and redis backends) is tested in stepup/state.
type memCounter struct {
	n    map[string]int64
	down bool
}

func (m *memCounter) Add(_ context.Context, use, key string, _ time.Duration, delta int64) (int64, time.Duration, error) {
	if m.down {
		return 0, 0, errors.New("down")
	}
	k := use + ":" + key
	m.n[k] = max(m.n[k]+delta, 0)
	return m.n[k], 90 * time.Second, nil
}

func newRegulator() (*Regulator, *memCounter) {
	c := &memCounter{n: map[string]int64{}}
	return New(c, Limits{Window: 15 * time.Minute, Subject: 3, IP: 5}, "scope"), c
}

func TestAbandonedStepUpsOfOneSubjectAreRefusedPastTheLimit(t *testing.T) {
	r, _ := newRegulator()
	ctx := context.Background()
	for i := range 3 {
		// From three addresses, so the IP limit plays no part.
		if v := r.Start(ctx, "alice", "192.0.2."+string(rune('1'+i))); v.Refused {
			t.Fatalf("attempt %d refused", i+1)
		}
	}
	v := r.Start(ctx, "alice", "192.0.2.9")
	if !v.Refused || v.By != "subject" || v.RetryAfter != 90*time.Second {
		t.Fatalf("4th open attempt: %+v; want refused by subject, retry after 90s", v)
	}
	if v := r.Check(ctx, "alice", "192.0.2.9"); !v.Refused {
		t.Error("a callback for the regulated subject is not refused")
	}
	if v := r.Start(ctx, "bob", "192.0.2.9"); v.Refused {
		t.Error("another subject is refused")
	}
}

func TestCompletedStepUpsDoNotCount(t *testing.T) {
	r, _ := newRegulator()
	ctx := context.Background()
	for i := range 10 {
		if v := r.Start(ctx, "alice", "192.0.2.1"); v.Refused {
			t.Fatalf("completed attempt %d refused: %+v", i+1, v)
		}
		r.Completed(ctx, "alice", "192.0.2.1")
	}
}

func TestStrayCallbacksCountAgainstTheClientIP(t *testing.T) {
	r, _ := newRegulator()
	ctx := context.Background()
	for i := range 5 {
		if v := r.Stray(ctx, "198.51.100.7"); v.Refused {
			t.Fatalf("stray callback %d refused", i+1)
		}
	}
	if v := r.Stray(ctx, "198.51.100.7"); !v.Refused || v.By != "ip" {
		t.Fatalf("6th stray callback: %+v; want refused by ip", v)
	}
	if v := r.Start(ctx, "", "198.51.100.7"); !v.Refused {
		t.Error("a login from the regulated address is not refused")
	}
	if v := r.Start(ctx, "", "198.51.100.8"); v.Refused {
		t.Error("another address is refused")
	}
}

func TestAnUnreachableCounterAllowsAndSaysSo(t *testing.T) {
	r, c := newRegulator()
	c.down = true
	v := r.Start(context.Background(), "alice", "192.0.2.1")
	if v.Refused || v.Err == nil {
		t.Fatalf("%+v; want allowed with the error", v)
	}
}

func TestTheStoreSeesNoSubjectOrAddress(t *testing.T) {
	r, c := newRegulator()
	r.Start(context.Background(), "alice@example.com", "192.0.2.1")
	for k := range c.n {
		if len(k) == 0 || strings.Contains(k, "alice") || strings.Contains(k, "192.0.2.1") {
			t.Errorf("key %q", k)
		}
	}
}
