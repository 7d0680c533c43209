package stepup

import (
	"fmt"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-stepup/caddy-stepup/stepup/state"
)

// provisionState takes this process's shared store for the state setting
// (memory when unset). Several handlers naming the same server share one
// connection pool.
func (h *Handler) provisionState(ctx caddy.Context) error {
	if err := state.RegisterMetrics(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("registering state metrics: %w", err)
	}
	s, key, err := state.Load(ctx, h.State)
	if err != nil {
		return err
	}
	h.store, h.storeKey = s, key
	return nil
}

// releaseState gives the store back; the last user closes it.
func (h *Handler) releaseState() {
	if h.store != nil {
		_ = state.Release(h.storeKey)
		h.store = nil
	}
}
