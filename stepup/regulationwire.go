package stepup

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/caddy-stepup/caddy-stepup/internal/promreg"
	"github.com/caddy-stepup/caddy-stepup/stepup/regulation"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
	"github.com/caddy-stepup/caddy-stepup/stepup/state"
)

// RegulationConfig bounds step-up attempts that do not complete. A login
// started counts as one attempt until its callback succeeds, so abandoned
// logins and refused callbacks (acr, amr, auth_time, subject, nonce,
// token, the IdP's error) stay counted; a callback that belongs to no
// login this browser started (state) counts one for its client IP. Past a
// limit, new logins and callbacks from that subject or address get 429
// with Retry-After until the window ends. Counts are cluster-wide with
// `state redis`.
type RegulationConfig struct {
	// Window is the fixed window attempts are counted in, 1m to 24h.
	// Default: 15m.
	Window caddy.Duration `json:"window,omitempty"`

	// MaxAttempts is how many open attempts (1-10000) one signed-in
	// subject may have per Window (step-ups of an existing session).
	// Default: 10.
	MaxAttempts int `json:"max_attempts,omitempty"`

	// IPMaxAttempts is how many open attempts (1-100000) one client IP
	// may have per Window; higher than MaxAttempts, since many users can
	// share an address. Default: 100.
	IPMaxAttempts int `json:"ip_max_attempts,omitempty"`
}

const (
	defaultRegulationWindow = 15 * time.Minute
	defaultMaxAttempts      = 10
	defaultIPMaxAttempts    = 100
)

// limits returns the settings with defaults applied.
func (c *RegulationConfig) limits() regulation.Limits {
	l := regulation.Limits{Window: time.Duration(c.Window), Subject: int64(c.MaxAttempts), IP: int64(c.IPMaxAttempts)}
	if l.Window == 0 {
		l.Window = defaultRegulationWindow
	}
	if l.Subject == 0 {
		l.Subject = defaultMaxAttempts
	}
	if l.IP == 0 {
		l.IP = defaultIPMaxAttempts
	}
	return l
}

func (c *RegulationConfig) validate() error {
	if c == nil {
		return nil
	}
	l := c.limits()
	switch {
	case c.Window < 0 || l.Window < time.Minute || l.Window > 24*time.Hour:
		return fmt.Errorf("regulation: window %s is outside 1m-24h; set e.g. window 15m", time.Duration(c.Window))
	case c.MaxAttempts < 0 || l.Subject > 10000:
		return fmt.Errorf("regulation: max_attempts %d is outside 1-10000; set e.g. max_attempts 10", c.MaxAttempts)
	case c.IPMaxAttempts < 0 || l.IP > 100000:
		return fmt.Errorf("regulation: ip_max_attempts %d is outside 1-100000; set e.g. ip_max_attempts 100", c.IPMaxAttempts)
	}
	return nil
}

// unmarshalCaddyfile reads
//
//	regulation {
//		window          <duration>
//		max_attempts    <n>
//		ip_max_attempts <n>
//	}
//
// with every subdirective optional (`regulation` alone takes the defaults).
func (c *RegulationConfig) unmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		name := d.Val()
		if seen[name] {
			return d.Errf("regulation: %s given twice", name)
		}
		seen[name] = true
		var arg string
		if !d.AllArgs(&arg) {
			return d.ArgErr()
		}
		switch name {
		case "window":
			v, err := caddy.ParseDuration(arg)
			if err != nil {
				return d.Errf("regulation: window %q is not a duration (e.g. 15m)", arg)
			}
			c.Window = caddy.Duration(v)
		case "max_attempts", "ip_max_attempts":
			n, err := strconv.Atoi(arg)
			if err != nil || n < 1 {
				return d.Errf("regulation: %s %q is not a positive whole number", name, arg)
			}
			if name == "max_attempts" {
				c.MaxAttempts = n
			} else {
				c.IPMaxAttempts = n
			}
		default:
			return d.Errf("regulation: unknown subdirective %q (window, max_attempts, ip_max_attempts)", name)
		}
	}
	return nil
}

// provisionRegulation counts attempts through the handler's store (the
// process's memory, or the shared server).
func (h *Handler) provisionRegulation(s *state.Store) {
	if h.Regulation == nil {
		return
	}
	h.regulator = regulation.New(s, h.Regulation.limits(), h.stateScope())
}

// regulationRefusals counts 429s by the limit that refused (subject, ip)
// and where (login: a login about to start; callback).
var regulationRefusals = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: "caddy", Subsystem: "stepup", Name: "regulated_attempts_total",
	Help: "Step-up attempts refused with 429 because a subject or client IP had too many open attempts in the regulation window, by limit (subject, ip) and where (login, callback).",
}, []string{"by", "at"})

// regulationRegistered remembers the registry last filled: once per
// config, not once per handler.
var regulationRegistered promreg.Once

func registerRegulationMetrics(reg prometheus.Registerer) error {
	return regulationRegistered.Register(reg, regulationRefusals)
}

// regulate answers 429 when v refused the attempt (true), with the audit
// event and the metric; an unreachable store lets the attempt go on (the
// store logs and counts that).
func (h *Handler) regulate(w http.ResponseWriter, r *http.Request, v regulation.Verdict, at, subject string) (bool, error) {
	if !v.Refused {
		return false, nil
	}
	regulationRefusals.WithLabelValues(v.By, at).Inc()
	secs := int((v.RetryAfter + time.Second - 1) / time.Second)
	h.logger.Warn("step-up regulated",
		zap.String("limit", v.By), zap.String("at", at), zap.Int("retry_after", secs),
		logSubject(h, subject), logClientIP(h, r), logRequest(r))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	description := "Too many sign-in attempts that did not complete; try again later."
	f := refusal{status: http.StatusTooManyRequests, code: errTooManyAttempts, description: description}
	if isNavigation(r) {
		f.page = &page{Title: "Too many attempts", Message: description, Reason: "regulated"}
	} else {
		f.json = map[string]string{"error": errTooManyAttempts, "error_description": description}
	}
	return true, h.refuse(w, r, f)
}

// errTooManyAttempts is {http.stepup.error} on a 429.
const errTooManyAttempts = "too_many_attempts"

// regulationCtx bounds the store calls of regulation on a request.
func regulationCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), time.Second)
}

// regulateStart counts a login about to start (for the signed-in subject,
// if any, and the client IP) and answers 429 when either has too many
// open attempts.
func (h *Handler) regulateStart(w http.ResponseWriter, r *http.Request, current *session.Session) (bool, error) {
	if h.regulator == nil {
		return false, nil
	}
	sub := ""
	if current.Valid(h.now()) {
		sub = current.Subject
	}
	ctx, cancel := regulationCtx(r)
	defer cancel()
	return h.regulate(w, r, h.regulator.Start(ctx, sub, clientIP(r).String()), "login", sub)
}

// regulateCallback answers 429, before the code is redeemed, to a
// callback from a client IP with too many open attempts.
func (h *Handler) regulateCallback(w http.ResponseWriter, r *http.Request) (bool, error) {
	if h.regulator == nil {
		return false, nil
	}
	ctx, cancel := regulationCtx(r)
	defer cancel()
	return h.regulate(w, r, h.regulator.Check(ctx, "", clientIP(r).String()), "callback", "")
}

// regulateCompleted takes back the attempt a completed login's start
// counted (for subject and the client IP).
func (h *Handler) regulateCompleted(r *http.Request, subject string) {
	if h.regulator == nil {
		return
	}
	ctx, cancel := regulationCtx(r)
	defer cancel()
	h.regulator.Completed(ctx, subject, clientIP(r).String())
}

// regulateStray counts a stray callback (refused for its state: no login
// of this browser) against the client IP.
func (h *Handler) regulateStray(r *http.Request) {
	if h.regulator == nil {
		return
	}
	ctx, cancel := regulationCtx(r)
	defer cancel()
	h.regulator.Stray(ctx, clientIP(r).String())
}
