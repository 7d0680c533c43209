package stepup

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Deleting held forms from storage: one that was used or has expired
// (dropHeld), and, in the background, those nobody came back for.

func (h *Handler) dropHeld(ctx context.Context, id string) {
	if err := h.storage.Delete(ctx, holdStoragePrefix+id); err != nil && !errors.Is(err, fs.ErrNotExist) {
		h.logger.Warn("held form: deleting from storage failed", zap.Error(err))
	}
}

// holdState is the handler's bookkeeping of held forms.
type holdState struct {
	lastSweep atomic.Int64 // unix nanoseconds
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
