package stepup

import (
	"net/http"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/risk"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// deviceCookieLifetime is how long a browser keeps its device identifier.
const deviceCookieLifetime = 400 * 24 * time.Hour

// riskVerdict is what the risk engine concluded about one request.
type riskVerdict struct {
	result risk.Result
	scored bool // false without a risk engine
}

// verdict is the score as the decision reads it.
func (v *riskVerdict) verdict() decision.Verdict {
	return decision.Verdict{Scored: v.scored, Score: v.result.Score}
}

// assessRisk scores the request; without an engine the verdict is the zero
// value (not scored). It also hands the browser a device
// identifier when the new_device signal is on and the request has none.
//
// The verdict is a value, not a pointer, and the placeholders capture only
// the score and the reasons (formatted now: "" when nothing contributed),
// so that scoring a request costs one small allocation, the closure.
func (h *Handler) assessRisk(w http.ResponseWriter, r *http.Request, repl *caddy.Replacer, c *credentials) riskVerdict {
	var v riskVerdict
	if h.risk == nil || c.refused != nil {
		return v // a refused bearer token is answered unscored
	}
	s := c.s
	device := h.deviceHash(w, r)
	in := risk.Request{Now: h.now(), ClientIP: clientIP(r), Device: device}
	if s.Valid(in.Now) {
		in.SessionKey = risk.SessionKey(s.Subject, s.Issued.Unix())
		in.HasLogin, in.Login = s.HasLogin, s.Login
	}
	h.risk.Evaluate(&in, &v.result)
	v.scored = true
	h.metrics.riskScore.Observe(float64(v.result.Score))
	caddyhttp.SetVar(r.Context(), risk.ScoreVar, v.result.Score)
	score, reasons := v.result.Score, v.result.Reasons()
	repl.Map(func(key string) (any, bool) {
		switch key {
		case "http.stepup.risk.score":
			return strconv.Itoa(score), true
		case "http.stepup.risk.reasons":
			return reasons, true
		}
		return nil, false
	})
	return v
}

// deviceHash identifies the browser for the new_device signal: its device
// cookie plus a user-agent fingerprint. A browser without a valid device
// cookie gets one (and counts as a new device this once).
func (h *Handler) deviceHash(w http.ResponseWriter, r *http.Request) uint64 {
	if h.riskConfig.NewDevice == nil {
		return 0
	}
	name := h.cookies.For(r).Device
	id, ok := session.CookieValue(r.Header, name)
	if !ok || !risk.ValidDeviceID(id) {
		h.cookies.Set(w, r, &http.Cookie{
			Name: name, Value: risk.NewDeviceID(), Path: "/", MaxAge: int(deviceCookieLifetime.Seconds()),
		})
		return 0
	}
	return risk.DeviceHash(id, r.UserAgent(), platformHint(r))
}

// recordLogin notes the risk baseline in a freshly minted session. Only a
// login that meets the risk requirement records a new one: otherwise a
// password login (any rule's, or the login endpoint's) would reset the
// country, network and device a risky request is compared with, and so
// clear the very signals that asked for the stronger login. Such a login
// keeps the baseline of the session it replaces; with none to keep (a first
// login in this browser) it records one.
//
// A browser that arrives without a device cookie (it came straight to the
// login endpoint, or from an API client's step_up_url) is given one here,
// so the baseline names the device the session will be used from.
func (h *Handler) recordLogin(w http.ResponseWriter, r *http.Request, s *session.Session) {
	if h.risk == nil {
		return
	}
	if claims := claimsOf(s); h.policy.Risk().Check(&claims, h.now()) != "" {
		if prev := h.readSession(r); prev.Valid(h.now()) && prev.HasLogin && prev.Subject == s.Subject {
			s.Login, s.HasLogin = prev.Login, true
			return
		}
	}
	var device uint64
	if h.riskConfig.NewDevice != nil {
		name := h.cookies.For(r).Device
		id, _ := session.CookieValue(r.Header, name)
		if !risk.ValidDeviceID(id) {
			id = risk.NewDeviceID()
			h.cookies.Set(w, r, &http.Cookie{
				Name: name, Value: id, Path: "/", MaxAge: int(deviceCookieLifetime.Seconds()),
			})
		}
		device = risk.DeviceHash(id, r.UserAgent(), platformHint(r))
	}
	s.Login = h.risk.Record(&risk.Request{Now: h.now(), ClientIP: clientIP(r), Device: device})
	s.HasLogin = true
}

// provisionRisk builds the risk engine and says what its step-up demands.
func (h *Handler) provisionRisk(ctx caddy.Context) (*decision.RiskSpec, error) {
	if h.Risk == nil {
		return nil, nil
	}
	engine, err := risk.New(ctx, h.Risk, h.logger.Named("risk"), h.now)
	if err != nil {
		return nil, err // risk errors already name their field
	}
	h.risk, h.riskConfig = engine, engine.Config()
	var maxAge *time.Duration
	if h.riskConfig.MaxAge != nil {
		d := time.Duration(*h.riskConfig.MaxAge)
		maxAge = &d
	}
	return &decision.RiskSpec{ACR: h.riskConfig.ACR, MaxAge: maxAge, ReportOnly: h.riskConfig.ReportOnly,
		StepUp: h.riskConfig.StepUp, Deny: h.riskConfig.Deny}, nil
}
