package state

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/valkey-io/valkey-go"
)

// MergeCounts adds adds[i] events to keys[i]'s counter in fixed window
// number win and sets cur[i] and prev[i] to what other replicas counted for
// keys[i] in windows win and win-1 (the risk engine's frequency signal
// shares its counts this way; see risk.CountStore). It does network I/O and
// is called from a background goroutine only.
func (s *Store) MergeCounts(ctx context.Context, window time.Duration, win int64, keys []string, adds, cur, prev []int64) error {
	if len(adds) != len(keys) || len(cur) < len(keys) || len(prev) < len(keys) {
		return fmt.Errorf("merge counts: %d keys, %d adds, %d/%d results", len(keys), len(adds), len(cur), len(prev))
	}
	err := s.be.mergeCounts(ctx, window, win, keys, adds, cur, prev)
	if err != nil {
		s.Unavailable("frequency", err)
	}
	return err
}

// mergeCounts of the memory backend: one process holds every count, so
// there is no other replica to hear from.
func (m *memory) mergeCounts(_ context.Context, _ time.Duration, _ int64, keys []string, _, cur, prev []int64) error {
	clear(cur[:len(keys)])
	clear(prev[:len(keys)])
	return nil
}

// Each window's counts of a key are a hash of per-replica fields, so that
// a replica can subtract its own events from the total without keeping
// state of its own. Every key carries the {freq} hash tag, so the script
// runs on a cluster too (all counts then live on one shard).
var mergeCountsScript = valkey.NewLuaScript(`
local rid, ttl = ARGV[1], ARGV[2]
local function others(key)
  local total = 0
  for _, v in ipairs(redis.call('HVALS', key)) do total = total + tonumber(v) end
  return total - tonumber(redis.call('HGET', key, rid) or '0')
end
local out = {}
for i = 1, #KEYS, 2 do
  local add = tonumber(ARGV[2 + (i + 1) / 2])
  if add > 0 then
    redis.call('HINCRBY', KEYS[i], rid, add)
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
  out[#out + 1] = others(KEYS[i])
  out[#out + 1] = others(KEYS[i + 1])
end
return out`)

// newReplicaID tells this store's counts apart from other replicas'. A
// restarted process gets a new one: its earlier events then count as
// another replica's, which they are.
func newReplicaID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (r *remote) mergeCounts(ctx context.Context, window time.Duration, win int64, keys []string, adds, cur, prev []int64) error {
	if len(keys) == 0 {
		return nil
	}
	names := make([]string, 0, 2*len(keys))
	args := make([]string, 0, 2+len(keys))
	// A window's counts are read during the next window too (the sliding
	// estimate), so they live two windows and a margin for clock skew.
	ttl := 2*window + 10*time.Second
	args = append(args, r.replica, strconv.FormatInt(ttl.Milliseconds(), 10))
	w, p := strconv.FormatInt(win, 10), strconv.FormatInt(win-1, 10)
	for i, k := range keys {
		base := r.prefix + "{freq}:" + k + ":"
		names = append(names, base+w, base+p)
		args = append(args, strconv.FormatInt(adds[i], 10))
	}
	return r.do(ctx, func(ctx context.Context, c valkey.Client) error {
		vals, err := mergeCountsScript.Exec(ctx, c, names, args).AsIntSlice()
		if err != nil {
			return err
		}
		if len(vals) != 2*len(keys) {
			return fmt.Errorf("merge counts: %d values for %d keys", len(vals), len(keys))
		}
		for i := range keys {
			cur[i], prev[i] = vals[2*i], vals[2*i+1]
		}
		return nil
	})
}
