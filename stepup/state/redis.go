package state

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/valkey-io/valkey-go"
)

// remote keeps the state on a server speaking the Redis protocol (Redis,
// Valkey). The client is created in the background: Provision does no
// network I/O, and a server that is down at start only makes the uses that
// need it degrade as documented until it answers.
type remote struct {
	opt     valkey.ClientOption
	prefix  string
	timeout time.Duration
	replica string // this store's field in shared counts

	mu     sync.Mutex
	client valkey.Client
	dialAt time.Time // no new dial attempt before this
	closed bool
}

// maxLogEntries bounds the revocation log kept on the server: enough for a
// day of mass logouts, small enough for every replica to hold in memory.
const maxLogEntries = 100_000

// redialEvery spaces connection attempts while the server is down.
const redialEvery = time.Second

func newRemote(c *Config, password string) *remote {
	opt := valkey.ClientOption{
		InitAddress:      c.Addresses,
		Username:         c.Username,
		Password:         password,
		SelectDB:         c.DB,
		DisableCache:     true, // nothing here is read twice
		ConnWriteTimeout: time.Duration(c.Timeout) * 4,
		Dialer:           net.Dialer{Timeout: time.Duration(c.DialTimeout), KeepAlive: 30 * time.Second},
		ClientName:       "caddy-stepup",
	}
	if c.TLS != nil {
		opt.TLSConfig = c.TLS.config
	}
	return &remote{opt: opt, prefix: c.KeyPrefix, timeout: time.Duration(c.Timeout), replica: newReplicaID()}
}

// get returns a connected client, dialling at most once a second while the
// server is unreachable.
func (r *remote) get() (valkey.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.client != nil {
		return r.client, nil
	}
	if r.closed {
		return nil, fmt.Errorf("%w: closed", ErrUnavailable)
	}
	if now := time.Now(); now.Before(r.dialAt) {
		return nil, fmt.Errorf("%w: waiting to redial", ErrUnavailable)
	} else {
		r.dialAt = now.Add(redialEvery)
	}
	c, err := valkey.NewClient(r.opt)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	r.client = c
	return c, nil
}

func (r *remote) do(ctx context.Context, f func(ctx context.Context, c valkey.Client) error) error {
	c, err := r.get()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	if err := f(ctx, c); err != nil && !valkey.IsValkeyNil(err) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

func (r *remote) claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	var ok bool
	err := r.do(ctx, func(ctx context.Context, c valkey.Client) error {
		res := c.Do(ctx, c.B().Set().Key(r.prefix+"claim:"+key).Value("1").Nx().Px(max(ttl, time.Millisecond)).Build())
		if err := res.Error(); err != nil {
			if valkey.IsValkeyNil(err) {
				return nil // not set: already claimed
			}
			return err
		}
		ok = true
		return nil
	})
	return ok, err
}

// The revocation log is a sorted set scored by a sequence number the server
// hands out, so replicas whose clocks disagree still read every entry once.
// Both keys share a hash tag, so the script runs on a cluster too.
var revokeScript = valkey.NewLuaScript(`
local seq = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], seq, seq .. ' ' .. ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[2]) + 1))
return seq`)

var readScript = valkey.NewLuaScriptReadOnly(`
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
local out = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf', 'LIMIT', 0, tonumber(ARGV[2]))
table.insert(out, 1, tostring(seq))
return out`)

func (r *remote) logKeys() []string {
	return []string{r.prefix + "{rev}:seq", r.prefix + "{rev}:log"}
}

func (r *remote) revoke(ctx context.Context, rv Revocation) error {
	b, err := json.Marshal(rv)
	if err != nil {
		return err
	}
	return r.do(ctx, func(ctx context.Context, c valkey.Client) error {
		return revokeScript.Exec(ctx, c, r.logKeys(), []string{string(b), strconv.Itoa(maxLogEntries)}).Error()
	})
}

// readBatch bounds one read of the log; a replica catching up reads on.
const readBatch = 1000

func (r *remote) revocationsSince(ctx context.Context, after uint64) ([]Revocation, uint64, error) {
	var out []Revocation
	var newest uint64
	err := r.do(ctx, func(ctx context.Context, c valkey.Client) error {
		items, err := readScript.Exec(ctx, c, r.logKeys(), []string{strconv.FormatUint(after, 10), strconv.Itoa(readBatch)}).AsStrSlice()
		if err != nil {
			return err
		}
		if len(items) == 0 {
			return fmt.Errorf("empty reply")
		}
		if newest, err = strconv.ParseUint(items[0], 10, 64); err != nil {
			return fmt.Errorf("sequence %q: %v", items[0], err)
		}
		for _, it := range items[1:] {
			rv, err := parseLogEntry(it)
			if err != nil {
				continue // written by a newer version: skip, never stall
			}
			out = append(out, rv)
		}
		return nil
	})
	return out, newest, err
}

// parseLogEntry reads "<seq> <json>".
func parseLogEntry(s string) (Revocation, error) {
	var rv Revocation
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			seq, err := strconv.ParseUint(s[:i], 10, 64)
			if err != nil {
				return rv, err
			}
			if err := json.Unmarshal([]byte(s[i+1:]), &rv); err != nil {
				return rv, err
			}
			rv.Seq = seq
			return rv, nil
		}
	}
	return rv, fmt.Errorf("log entry without sequence")
}

var countScript = valkey.NewLuaScript(`
local n = redis.call('INCRBY', KEYS[1], ARGV[2])
if n < 0 then redis.call('SET', KEYS[1], 0, 'KEEPTTL'); n = 0 end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}`)

func (r *remote) count(ctx context.Context, key string, window time.Duration, delta int64) (int64, time.Duration, error) {
	var n, ttl int64
	err := r.do(ctx, func(ctx context.Context, c valkey.Client) error {
		vals, err := countScript.Exec(ctx, c, []string{r.prefix + "count:" + key}, []string{strconv.FormatInt(max(window.Milliseconds(), 1), 10), strconv.FormatInt(delta, 10)}).AsIntSlice()
		if err != nil {
			return err
		}
		if len(vals) != 2 {
			return fmt.Errorf("count: %d values in reply", len(vals))
		}
		n, ttl = vals[0], vals[1]
		return nil
	})
	return n, time.Duration(ttl) * time.Millisecond, err
}

func (r *remote) local() bool { return false }

func (r *remote) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	if r.client != nil {
		r.client.Close()
		r.client = nil
	}
	return nil
}
