package keystore

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/testclock"
)

// testKey is a key of a test ring: a number and when it was made.
type testKey struct {
	N       int       `json:"n"`
	Created time.Time `json:"created"`
}

func (k testKey) CreatedAt() time.Time { return k.Created }

// names is the set a test ring builds: its keys' numbers, oldest first.
type names []string

func testRing(storage certmagic.Storage, c *testclock.Clock, made *atomic.Int64) *Ring[testKey, names] {
	return New(storage, c.Now, Policy[testKey, names]{
		Name:       "test keys",
		StorageKey: "test/keys.json",
		Rotation:   time.Hour,
		Build: func(keys []testKey) (*names, error) {
			var out names
			for _, k := range keys {
				if k.N < 0 {
					return nil, errors.New("negative key")
				}
				out = append(out, strconv.Itoa(k.N))
			}
			return &out, nil
		},
		// Keep the newest key before the fresh one only.
		Keep: func(keys []testKey, i int, _ time.Time) bool { return i == len(keys)-1 },
		Fresh: func(kept []testKey, now time.Time) (testKey, error) {
			return testKey{N: int(made.Add(1)), Created: now}, nil
		},
	})
}

func TestRingCreatesItsFirstKeyOnFirstUseAndRotatesWhenDue(t *testing.T) {
	ctx := context.Background()
	c := testclock.New(time.Unix(1_800_000_000, 0))
	var made atomic.Int64
	r := testRing(&certmagic.FileStorage{Path: t.TempDir()}, c, &made)
	if r.Current() != nil {
		t.Fatal("a ring holds keys before its first load")
	}
	first, err := r.Load(ctx, true)
	if err != nil || len(*first) != 1 {
		t.Fatalf("first load = %v, %v; want one fresh key", first, err)
	}
	c.Add(time.Hour)
	if got, _ := r.Load(ctx, false); len(*got) != 1 {
		t.Fatalf("a load that may not rotate rotated: %v", *got)
	}
	got, err := r.Load(ctx, true)
	if err != nil || len(*got) != 2 || (*got)[0] != "1" || (*got)[1] != "2" {
		t.Fatalf("after rotation = %v, %v; want [1 2]", got, err)
	}
	c.Add(time.Hour)
	if got, _ := r.Load(ctx, true); len(*got) != 2 || (*got)[0] != "2" {
		t.Fatalf("rotation did not prune what Keep refused: %v", *got)
	}
}

func TestRingsSharingStorageRotateToOneNewKey(t *testing.T) {
	ctx := context.Background()
	c := testclock.New(time.Unix(1_800_000_000, 0))
	storage := &certmagic.FileStorage{Path: t.TempDir()}
	var made atomic.Int64
	a, b := testRing(storage, c, &made), testRing(storage, c, &made)
	if _, err := a.Load(ctx, true); err != nil {
		t.Fatal(err)
	}
	c.Add(time.Hour)
	x, _ := a.Load(ctx, true)
	y, _ := b.Load(ctx, true)
	if made.Load() != 2 || len(*x) != 2 || len(*y) != 2 || (*x)[1] != (*y)[1] {
		t.Fatalf("two rings on one storage: %v and %v after %d keys made; want one rotation", *x, *y, made.Load())
	}
}

func TestRingServesADueSetWhileItRefreshesInTheBackground(t *testing.T) {
	ctx := context.Background()
	c := testclock.New(time.Unix(1_800_000_000, 0))
	var made atomic.Int64
	r := testRing(&certmagic.FileStorage{Path: t.TempDir()}, c, &made)
	first, err := r.Get(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.Add(time.Hour)
	if got, _ := r.Get(ctx); got != first {
		t.Fatal("a due set was not served while it refreshes")
	}
	for r.rotating.Load() {
		time.Sleep(time.Millisecond)
	}
	if got, _ := r.Get(ctx); len(*got) != 2 {
		t.Fatalf("after the background refresh: %v, want two keys", *got)
	}
}

func TestRingNeverWritesOverKeysThatDoNotDecode(t *testing.T) {
	ctx := context.Background()
	c := testclock.New(time.Unix(1_800_000_000, 0))
	storage := &certmagic.FileStorage{Path: t.TempDir()}
	bad := []byte(`{"keys":[{"n":-1,"created":"2020-01-01T00:00:00Z"}]}`)
	if err := storage.Store(ctx, "test/keys.json", bad); err != nil {
		t.Fatal(err)
	}
	var made atomic.Int64
	if _, err := testRing(storage, c, &made).Load(ctx, true); err == nil {
		t.Fatal("a ring loaded keys that do not decode")
	}
	if raw, _ := storage.Load(ctx, "test/keys.json"); string(raw) != string(bad) || made.Load() != 0 {
		t.Fatalf("storage rewritten to %s", raw)
	}
}

func TestRingErrorsNameTheKeysAndStorageKey(t *testing.T) {
	ctx := context.Background()
	storage := &certmagic.FileStorage{Path: t.TempDir()}
	if err := storage.Store(ctx, "test/keys.json", []byte("{")); err != nil {
		t.Fatal(err)
	}
	var made atomic.Int64
	_, err := testRing(storage, testclock.New(time.Unix(1_800_000_000, 0)), &made).Load(ctx, true)
	if err == nil || err.Error()[:31] != "decoding test keys at test/keys" {
		t.Fatalf("error = %v", err)
	}
}
