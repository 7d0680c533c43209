// Package risk scores each request for the stepup handler: a weighted sum
// (0-100) of optional signals — IP reputation lists, location (country,
// network, impossible travel, country lists), request frequency and new
// devices — that decides whether the request passes, needs a stronger login,
// or is denied. Every score carries its reasons.
//
// Evaluate is a function of the Request it is given and the engine's
// state; it reads no clock and does no I/O. Data files are loaded in New and
// reloaded by a poller when they change. The engine takes plain
// dependencies (a context, a logger, a clock); the Caddy glue, the
// stepup_risk matcher's module and the Caddyfile parser, sits in matcher.go
// and caddyfile.go.
package risk

import (
	"context"
	"net/netip"
	"sync"
	"time"

	"go.uber.org/zap"
)

// ScoreVar is the caddyhttp variable the stepup handler sets (an int) to
// the request's score, for the stepup_risk matcher and other handlers.
const ScoreVar = "stepup.risk.score"

// Engine evaluates requests against a Config. It is safe for concurrent use.
type Engine struct {
	cfg       Config      // with defaults applied
	rep       *reputation // nil when the signal is off
	loc       *location
	freq      *frequency
	newDevice int // points; 0 when off

	watch *watcher
	stop  chan struct{}
	once  sync.Once
}

// Request is what Evaluate scores: everything comes in explicitly.
type Request struct {
	// Now is the request's time.
	Now time.Time
	// ClientIP is Caddy's client_ip (trusted_proxies aware), never a raw
	// X-Forwarded-For.
	ClientIP netip.Addr
	// SessionKey identifies the session, stable across its requests (0: no
	// session).
	SessionKey uint64
	// HasLogin says whether Login holds what the session recorded at login.
	HasLogin bool
	Login    Recorded
	// Device is DeviceHash of this request (0 without a device cookie).
	Device uint64
}

// Recorded is what Record notes at login, to travel in the session cookie
// so every replica compares against the same values. Zero fields are
// unknown and never fire a signal.
type Recorded struct {
	Country  [2]byte // ISO 3166-1 alpha-2
	ASN      uint32
	Device   uint64  // DeviceHash at login
	Lat, Lon float32 // degrees; both 0 = unknown
	Radius   uint16  // accuracy radius of Lat/Lon, km
	At       int64   // unix seconds of the login
}

// New builds an engine for c (validated; defaults applied) and loads its
// data files. It does no network I/O. Files that cannot be read are logged
// and fail open or closed as configured; they are retried when they change.
// A goroutine polls the files until ctx ends (a Caddy module passes its
// caddy.Context, so the poller ends with its config) or Close is called; a
// nil ctx leaves it to Close. now is used only to judge database age when
// logging.
func New(ctx context.Context, c *Config, logger *zap.Logger, now func() time.Time) (*Engine, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	if now == nil {
		now = time.Now
	}
	e := &Engine{
		cfg:   c.withDefaults(),
		watch: &watcher{logger: logger},
		stop:  make(chan struct{}),
	}
	if r := e.cfg.IPReputation; r != nil {
		e.rep = newReputation(r, logger, e.watch)
	}
	if l := e.cfg.Location; l != nil {
		e.loc = newLocation(l, logger, now, e.watch)
	}
	if f := e.cfg.Frequency; f != nil {
		e.freq = newFrequency(f)
	}
	if d := e.cfg.NewDevice; d != nil {
		e.newDevice = d.Weight
	}
	e.watch.poll()
	// A MaxMind database that does not load would, failing closed, add its
	// points to every request (a deny list then refuses everyone): unless
	// marked optional, that is a config error, reported by caddy validate.
	if err := e.watch.missingRequired(); err != nil {
		e.Close()
		return nil, err
	}
	if len(e.watch.files) > 0 {
		go e.watch.run(e.stop, pollInterval)
		if ctx != nil {
			go func() {
				select {
				case <-ctx.Done():
					e.Close()
				case <-e.stop:
				}
			}()
		}
	}
	return e, nil
}

// Close stops the file poller and lets go of the process-wide databases it
// shares. Evaluate keeps working on the data loaded.
func (e *Engine) Close() error {
	e.once.Do(func() {
		close(e.stop)
		if e.loc != nil {
			e.loc.holds.close()
		}
	})
	return nil
}

// Config returns the configuration in force, defaults applied.
func (e *Engine) Config() Config {
	return e.cfg
}

// Evaluate scores req into out. It counts req toward the frequency signals
// (each call is one request), reads no clock, does no I/O and, once the
// location caches are warm, allocates nothing.
func (e *Engine) Evaluate(req *Request, out *Result) {
	out.reset()
	ip := req.ClientIP.Unmap()
	if e.rep != nil {
		e.rep.evaluate(ip, out)
	}
	if e.loc != nil {
		e.loc.evaluate(req, ip, out)
	}
	if e.freq != nil {
		e.freq.evaluate(req, ip, out)
	}
	// A login that recorded no device (it came straight to the login
	// endpoint, or from an API client's step_up_url) is "unknown", like
	// every zero field of Recorded: it must not count as a change.
	if e.newDevice > 0 && req.HasLogin && req.Login.Device != 0 && req.Device != req.Login.Device {
		out.add(SignalNewDevice, e.newDevice, false)
	}
	out.Score = min(max(out.Score, 0), 100)
}

// Record returns what to keep in the session at login: the country,
// network and location of req.ClientIP, req.Device and req.Now.
func (e *Engine) Record(req *Request) Recorded {
	r := Recorded{Device: req.Device, At: req.Now.Unix()}
	if e.loc != nil {
		e.loc.record(req.ClientIP.Unmap(), &r)
	}
	return r
}
