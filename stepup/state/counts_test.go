package state

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-stepup/caddy-stepup/internal/redistest"
	"github.com/caddy-stepup/caddy-stepup/stepup/risk"
)

func TestMergedCountsSubtractOnlyTheAskingReplicasOwn(t *testing.T) {
	srv := redistest.Start(t)
	a, b := redisStore(t, srv.Addr), redisStore(t, srv.Addr)
	ctx := context.Background()
	keys := []string{"s:1", "s:2"}
	cur, prev := make([]int64, 2), make([]int64, 2)
	if err := a.MergeCounts(ctx, time.Minute, 100, keys[:1], []int64{3}, cur, prev); err != nil {
		t.Fatal(err)
	}
	if err := a.MergeCounts(ctx, time.Minute, 101, keys[:1], []int64{4}, cur, prev); err != nil {
		t.Fatal(err)
	}
	if cur[0] != 0 || prev[0] != 0 {
		t.Fatalf("A alone sees others' counts %d/%d, want 0/0", cur[0], prev[0])
	}
	if err := b.MergeCounts(ctx, time.Minute, 101, keys, []int64{2, 0}, cur, prev); err != nil {
		t.Fatal(err)
	}
	if cur[0] != 4 || prev[0] != 3 || cur[1] != 0 || prev[1] != 0 {
		t.Fatalf("B sees %v/%v, want [4 0]/[3 0]", cur, prev)
	}
	if err := a.MergeCounts(ctx, time.Minute, 101, keys[:1], []int64{0}, cur, prev); err != nil {
		t.Fatal(err)
	}
	if cur[0] != 2 || prev[0] != 0 {
		t.Fatalf("A sees %d/%d, want B's 2/0", cur[0], prev[0])
	}
}

// sharedEngine is a risk engine with the frequency signal (limit per
// session) sharing its counts through s, syncing in the background.
func sharedEngine(t *testing.T, s *Store, limit int) *risk.Engine {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	e, err := risk.New(ctx, &risk.Config{Frequency: &risk.FrequencyConfig{Limit: limit, IPLimit: 60000, Window: caddy.Duration(time.Hour)}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	e.ShareFrequency(s, "test:", time.Now, nil)
	return e
}

func fires(e *risk.Engine, key uint64) bool {
	var out risk.Result
	e.Evaluate(&risk.Request{Now: time.Now(), ClientIP: netip.MustParseAddr("192.0.2.1"), SessionKey: key}, &out)
	return out.Has(risk.SignalFrequencySession)
}

func TestFrequencyCountsMergeAcrossReplicasThroughRedis(t *testing.T) {
	srv := redistest.Start(t)
	// Limit 5000: B's own polls in eventually (at most 2,250 in 45 s)
	// never reach it alone, so B firing shows A's 4999 arrived.
	a, b := sharedEngine(t, redisStore(t, srv.Addr), 5000), sharedEngine(t, redisStore(t, srv.Addr), 5000)
	for i := range 4999 {
		if fires(a, 1) {
			t.Fatalf("request %d on A fired below the limit", i+1)
		}
	}
	if fires(b, 1) {
		t.Fatal("B fired on its first request, before any sync")
	}
	eventually(t, "B scores A's requests", func() bool { return fires(b, 1) })
}

func TestFrequencyFallsBackToLocalCountsWhileRedisIsDown(t *testing.T) {
	srv := redistest.Start(t)
	// Limit 5000: B's own polls below (at most 2,250 in eventually's 45 s)
	// never reach it alone; A's 6000 requests do.
	a, b := sharedEngine(t, redisStore(t, srv.Addr), 5000), sharedEngine(t, redisStore(t, srv.Addr), 5000)
	for range 6000 {
		fires(a, 2)
	}
	eventually(t, "B scores A's requests", func() bool { return fires(b, 2) })
	srv.Stop()
	eventually(t, "with the store down, B counts alone (under the limit)", func() bool { return !fires(b, 2) })
	srv.Restart()
	// A keeps counting: its rounds fail until its client has redialled,
	// and a failed round's counts are dropped.
	eventually(t, "the store back, B scores A's requests again", func() bool {
		for range 500 {
			fires(a, 4)
		}
		return fires(b, 4)
	})
}

func TestAddReadsTakesBackAndNeverGoesBelowZero(t *testing.T) {
	srv := redistest.Start(t)
	mem := newStore(Config{Backend: BackendMemory}, newMemory(time.Now), time.Now, nil)
	for name, s := range map[string]*Store{"redis": redisStore(t, srv.Addr), "memory": mem} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			steps := []struct {
				delta, want int64
			}{{0, 0}, {1, 1}, {1, 2}, {0, 2}, {-1, 1}, {-1, 0}, {-1, 0}, {1, 1}}
			for i, st := range steps {
				n, left, err := s.Add(ctx, "regulation_ip", "k", time.Minute, st.delta)
				if err != nil || n != st.want || left <= 0 || left > time.Minute {
					t.Fatalf("step %d (%+d): %d, %s, %v; want %d", i, st.delta, n, left, err, st.want)
				}
			}
		})
	}
}
