package stepup

import (
	"fmt"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/dustin/go-humanize"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddy-stepup/caddy-stepup/internal/promreg"
)

var holdCounter = sync.OnceValue(func() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "stepup", Name: "held_forms_total",
		Help: "Browser form submissions held across a step-up, by result (held, resumed, discarded, refused: a confirmation that was refused, expired or already used).",
	}, []string{"result"})
})

func (h *Handler) holdMetrics() *prometheus.CounterVec { return holdCounter() }

// provisionResume registers the held-form metrics and checks the cap.
func (h *Handler) provisionResume(ctx caddy.Context) error {
	if h.HoldMaxBody != nil && *h.HoldMaxBody < 0 {
		return fmt.Errorf("hold_max_body: %d is negative; use 0 to turn holding off", *h.HoldMaxBody)
	}
	if h.HoldMaxBody != nil && *h.HoldMaxBody > maxHoldMaxBody {
		return fmt.Errorf("hold_max_body: %d is over the %d bytes a held form may have", *h.HoldMaxBody, maxHoldMaxBody)
	}
	if l := time.Duration(h.HoldLifetime); l != 0 && (l < minHoldLifetime || l > defaultHoldLifetime) {
		return fmt.Errorf("hold_lifetime: %s must be between %s and %s", l, minHoldLifetime, defaultHoldLifetime)
	}
	h.held = &holdState{}
	if reg := ctx.GetMetricsRegistry(); reg != nil {
		if err := holdRegistered.Register(reg, holdCounter()); err != nil {
			return fmt.Errorf("registering metrics: %w", err)
		}
	}
	return nil
}

// holdRegistered remembers the registry last filled: once per config, not
// once per handler.
var holdRegistered promreg.Once

// maxHoldMaxBody bounds the setting: held forms live in storage and are
// opened in memory.
const maxHoldMaxBody = 1 << 20

// holdMaxBodyArg parses `hold_max_body <size>|off`: a size such as 64KiB,
// or off (0) to turn holding off.
func holdMaxBodyArg(d *caddyfile.Dispenser, dst **int64) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	v := d.Val()
	var n int64
	if v != "off" {
		size, err := humanize.ParseBytes(v)
		if err != nil || size > maxHoldMaxBody {
			return d.Errf("stepup: hold_max_body %q is not a size up to 1MiB (e.g. 64KiB) or off", v)
		}
		n = int64(size)
	}
	if d.NextArg() {
		return d.ArgErr()
	}
	*dst = &n
	return nil
}
