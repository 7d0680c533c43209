package stepup

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
)

// Holding writes to storage for anyone who can send a form, and fetch
// metadata headers are only a browser's word: a script can send them. So
// holds are counted in the state store per client IP and cluster-wide per
// defaultHoldLifetime, and beyond either bound a form gets the 401 as before.
// At the cluster bound, storage holds at most about
// maxHeldPerWindow × hold_max_body of held forms.
const (
	maxHeldPerWindow = 1000
	maxHeldPerClient = 10
)

// holdState is the handler's bookkeeping of held forms.
type holdState struct {
	lastSweep atomic.Int64 // unix nanoseconds
}

// holdBody reads r's body within the cap. ok is false when the body is
// over the cap or holding is over its bounds: the caller answers as before
// holding existed.
func (h *Handler) holdBody(r *http.Request) (body []byte, ok bool) {
	limit := h.holdMaxBody()
	if r.ContentLength > limit {
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, false // a client that stopped sending: nothing to hold
	}
	if int64(len(body)) > limit || !h.holdAllowed(r) {
		return nil, false
	}
	return body, true
}

// holdAllowed counts this hold against the bounds; false (or an
// unreachable store) means do not hold.
func (h *Handler) holdAllowed(r *http.Request) bool {
	ctx := r.Context()
	if n, _, err := h.store.Count(ctx, holdClaimUse+"_all", "all", defaultHoldLifetime); err != nil || n > maxHeldPerWindow {
		return false
	}
	ip, _ := caddyhttp.GetVar(ctx, caddyhttp.ClientIPVarKey).(string)
	if ip == "" {
		ip, _, _ = net.SplitHostPort(r.RemoteAddr)
	}
	n, _, err := h.store.Count(ctx, holdClaimUse+"_ip", ip, defaultHoldLifetime)
	return err == nil && n <= maxHeldPerClient
}

// sweepHeld deletes, at most once per defaultHoldLifetime and in the background,
// held forms whose storage entry is older than defaultHoldLifetime: forms nobody
// came back for would otherwise stay in storage for ever.
func (h *Handler) sweepHeld() {
	// Wall time, not h.now: it is compared with the storage's own
	// modification times.
	now := time.Now()
	last := h.held.lastSweep.Load()
	if now.Sub(time.Unix(0, last)) < defaultHoldLifetime || !h.held.lastSweep.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		n, err := h.sweepHeldNow(ctx, now)
		if err != nil {
			h.logger.Warn("held forms: sweeping storage failed", zap.Error(err))
			return
		}
		if n > 0 {
			h.logger.Debug("held forms: expired entries removed", zap.Int("count", n))
		}
	}()
}

func (h *Handler) sweepHeldNow(ctx context.Context, now time.Time) (int, error) {
	keys, err := h.storage.List(ctx, strings.TrimSuffix(holdStoragePrefix, "/"), false)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	for _, key := range keys {
		info, err := h.storage.Stat(ctx, key)
		if err != nil || now.Sub(info.Modified) <= defaultHoldLifetime+time.Minute {
			continue
		}
		if h.storage.Delete(ctx, key) == nil {
			n++
		}
	}
	return n, nil
}
