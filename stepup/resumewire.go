package stepup

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/dustin/go-humanize"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/caddy-stepup/caddy-stepup/internal/promreg"
	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
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

// holdThenLogin holds a form submission that fell short and starts the
// login whose return path is the confirmation page. handled is false when
// the form cannot be held (over the cap): the caller answers as before.
func (h *Handler) holdThenLogin(w http.ResponseWriter, r *http.Request, req *decision.Requirement, s *session.Session) (handled bool, err error) {
	if claims := claimsOf(s); req.Loops(&claims, h.now()) {
		return false, nil
	}
	d, err := h.idp.ForLogin(r.Context())
	if err != nil {
		return true, h.idpDown(w, r, err)
	}
	body, ok := h.holdBody(r)
	if !ok {
		return false, nil
	}
	id := newHeldID()
	f := h.newFlow(w, r, req, s, h.resumePath()+"?id="+id, false)
	f.Held = f.State
	if err := h.hold(w, r, id, body, req, s, f.State); err != nil {
		h.logger.Warn("held form: could not store it", zap.Error(err), logRequest(r))
		return false, nil
	}
	h.holdMetrics().WithLabelValues("held").Inc()
	h.logger.Info("form held for step-up", logRule(req.Name), logSubject(h, subjectOf(s)), logClientIP(h, r), logRequest(r))
	return true, h.sendFlow(w, r, d, req, s, &f)
}

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
