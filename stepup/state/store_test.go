package state

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-stepup/caddy-stepup/internal/redistest"
)

func redisStore(t *testing.T, addr string) *Store {
	t.Helper()
	cfg := Config{Backend: BackendRedis, Addresses: []string{addr}}
	cfg.applyDefaults()
	s := newStore(cfg, newRemote(&cfg, ""), time.Now, zap.NewNop())
	t.Cleanup(func() { _ = s.Destruct() })
	return s
}

// eventually polls cond until it holds or 10 s pass; the deadline only
// bounds a broken test, it asserts nothing about speed.
// eventually polls cond until it holds. The bound is generous on purpose:
// it is how long a test may wait for a redis-server restart and a client
// redial on a loaded 2-core CI machine, not a figure the code must meet (a
// passing run takes well under a second).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(45 * time.Second); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("never: %s", what)
}

func TestARevocationOnOneReplicaReachesAnotherThroughRedis(t *testing.T) {
	srv := redistest.Start(t)
	a, b := redisStore(t, srv.Addr), redisStore(t, srv.Addr)
	issued := time.Now().Add(-time.Minute)
	if b.Revoked("https://op", "alice", "sid-1", issued) {
		t.Fatal("revoked before any revocation")
	}
	ctx := context.Background()
	if err := a.Revoke(ctx, Revocation{Issuer: "https://op", SID: "sid-1", Before: time.Now().Unix()}); err != nil {
		t.Fatal(err)
	}
	if !a.Revoked("https://op", "alice", "sid-1", issued) {
		t.Fatal("the replica that took the revocation does not apply it at once")
	}
	eventually(t, "replica B applies the sid revocation", func() bool { return b.Revoked("https://op", "alice", "sid-1", issued) })
	if b.Revoked("https://op", "alice", "sid-2", issued) {
		t.Error("a sid revocation ended another session of the subject")
	}
	if b.Revoked("https://other-op", "alice", "sid-1", issued) {
		t.Error("a revocation at one issuer applied to another")
	}
	if b.Revoked("https://op", "alice", "sid-1", time.Now().Add(time.Minute)) {
		t.Error("a session issued after the revocation is revoked")
	}
	if err := a.Revoke(ctx, Revocation{Issuer: "https://op", Subject: "bob", Before: time.Now().Unix()}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "replica B applies the subject revocation", func() bool { return b.Revoked("https://op", "bob", "any", issued) })
	if !b.Revoked("https://op", "bob", "", issued) {
		t.Error("a subject revocation missed a session without sid")
	}
}

func TestAClaimIsSingleUseAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	a, b := redisStore(t, srv.Addr), redisStore(t, srv.Addr)
	ctx := context.Background()
	ok, err := a.Claim(ctx, "fresh_pass", "k1", time.Minute)
	if err != nil || !ok {
		t.Fatalf("first claim on A: %v, %v", ok, err)
	}
	ok, err = b.Claim(ctx, "fresh_pass", "k1", time.Minute)
	if err != nil || ok {
		t.Fatalf("second claim on B: %v, %v; want refused", ok, err)
	}
	ok, err = b.Claim(ctx, "logout_jti", "k1", time.Minute)
	if err != nil || !ok {
		t.Fatalf("same key under another use: %v, %v; uses must not collide", ok, err)
	}
}

func TestACounterIsSharedAcrossReplicas(t *testing.T) {
	srv := redistest.Start(t)
	a, b := redisStore(t, srv.Addr), redisStore(t, srv.Addr)
	ctx := context.Background()
	var n int64
	for i, s := range []*Store{a, b, a, b} {
		var left time.Duration
		var err error
		n, left, err = s.Count(ctx, "regulation", "sub:alice", time.Minute)
		if err != nil || n != int64(i+1) || left <= 0 || left > time.Minute {
			t.Fatalf("count %d: %d, %s, %v", i+1, n, left, err)
		}
	}
}

func TestAStoreOutageIsReportedAndRecovered(t *testing.T) {
	srv := redistest.Start(t)
	s := redisStore(t, srv.Addr)
	eventually(t, "first sync", s.Current)
	srv.Stop()
	_, err := s.Claim(context.Background(), "fresh_pass", "k", time.Minute)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("claim with the server down: %v; want ErrUnavailable", err)
	}
	eventually(t, "the copy is reported stale", func() bool { return !s.Current() })
	srv.Restart()
	eventually(t, "the copy is current again", s.Current)
	eventually(t, "claims work again", func() bool {
		ok, err := s.Claim(context.Background(), "fresh_pass", "k", time.Minute)
		return ok && err == nil
	})
}

func TestALostLogIsReadAgainFromTheStart(t *testing.T) {
	srv := redistest.Start(t)
	a, b := redisStore(t, srv.Addr), redisStore(t, srv.Addr)
	ctx := context.Background()
	for _, sub := range []string{"u1", "u2", "u3"} {
		if err := a.Revoke(ctx, Revocation{Issuer: "i", Subject: sub, Before: 100}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "B reads three entries", func() bool { return b.Revoked("i", "u3", "", time.Unix(50, 0)) })
	srv.Restart() // empty: the sequence starts again at 1
	eventually(t, "A reconnects", func() bool {
		return a.Revoke(ctx, Revocation{Issuer: "i", Subject: "late", Before: 100}) == nil
	})
	eventually(t, "B reads the entry written after the restart", func() bool { return b.Revoked("i", "late", "", time.Unix(50, 0)) })
	if !b.Revoked("i", "u1", "", time.Unix(50, 0)) {
		t.Error("B forgot a revocation it held when the log was lost")
	}
}

func TestMemoryBackendClaimsCountsAndRevokes(t *testing.T) {
	cfg := Config{}
	cfg.applyDefaults()
	s := newStore(cfg, newMemory(time.Now), time.Now, zap.NewNop())
	ctx := context.Background()
	if ok, _ := s.Claim(ctx, "fresh_pass", "k", time.Minute); !ok {
		t.Fatal("first claim refused")
	}
	if ok, _ := s.Claim(ctx, "fresh_pass", "k", time.Minute); ok {
		t.Fatal("second claim accepted")
	}
	if n, _, _ := s.Count(ctx, "r", "x", time.Minute); n != 1 {
		t.Fatalf("count %d", n)
	}
	if n, _, _ := s.Count(ctx, "r", "x", time.Minute); n != 2 {
		t.Fatalf("count %d", n)
	}
	if !s.Current() {
		t.Fatal("memory store not current")
	}
	if err := s.Revoke(ctx, Revocation{Issuer: "i", Subject: "alice", Before: 100}); err != nil {
		t.Fatal(err)
	}
	if !s.Revoked("i", "alice", "", time.Unix(100, 0)) || s.Revoked("i", "alice", "", time.Unix(101, 0)) {
		t.Fatal("cut-off applied wrongly")
	}
}

func TestMemoryClaimsExpire(t *testing.T) {
	now := time.Unix(1000, 0)
	m := newMemory(func() time.Time { return now })
	ctx := context.Background()
	if ok, _ := m.claim(ctx, "k", time.Second); !ok {
		t.Fatal("first claim refused")
	}
	now = now.Add(2 * time.Second)
	if ok, _ := m.claim(ctx, "k", time.Second); !ok {
		t.Fatal("claim after its ttl still refused")
	}
}

func TestRevokedCheckDoesNotAllocate(t *testing.T) {
	cfg := Config{}
	cfg.applyDefaults()
	s := newStore(cfg, newMemory(time.Now), time.Now, zap.NewNop())
	_ = s.Revoke(context.Background(), Revocation{Issuer: "i", Subject: "bob", Before: 100})
	issued := time.Unix(200, 0)
	if n := testing.AllocsPerRun(100, func() { s.Revoked("i", "alice", "sid", issued) }); n != 0 {
		t.Fatalf("%v allocations per check", n)
	}
}
