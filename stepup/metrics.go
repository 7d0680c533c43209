package stepup

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddy-stepup/caddy-stepup/internal/promreg"
)

// Metrics answer "how often do challenges happen, and why?". Labels are
// bounded: rule names come from the config, reasons and outcomes from fixed
// sets; never a user, an IP or a raw path.
//
// The collectors are created once per process and registered into each
// config's registry, so counts survive config reloads (as Caddy's own
// reverse_proxy metrics do).
type stepupMetrics struct {
	requests       *prometheus.CounterVec   // outcome
	challenges     *prometheus.CounterVec   // rule, reason
	logins         *prometheus.CounterVec   // result, reason
	idpDuration    *prometheus.HistogramVec // endpoint
	riskScore      prometheus.Histogram
	sessionDecodes *prometheus.CounterVec // reason

	// Pre-bound children for the per-request path: no label lookup there.
	passed       prometheus.Counter
	passedNoRule prometheus.Counter

	// registered remembers the registry last registered into: the other
	// handlers of that config skip registering (issue 19: Register costs
	// ~3 µs per collector, per handler, on every reload).
	registered promreg.Once
}

// Request outcomes.
const (
	outcomePass       = "pass"
	outcomeChallenged = "challenged"
	outcomeDenied     = "denied"
	outcomeError      = "error"
	outcomeReportOnly = "report_only"
)

var metricsOnce struct {
	sync.Once
	m *stepupMetrics
}

func sharedMetrics() *stepupMetrics {
	metricsOnce.Do(func() {
		const ns, sub = "caddy", "stepup"
		m := &stepupMetrics{
			requests: prometheus.NewCounterVec(prometheus.CounterOpts{
				Namespace: ns, Subsystem: sub, Name: "requests_total",
				Help: "Requests evaluated by the stepup handler, by outcome (pass, pass_unprotected, challenged, denied, report_only, error).",
			}, []string{"outcome"}),
			challenges: prometheus.NewCounterVec(prometheus.CounterOpts{
				Namespace: ns, Subsystem: sub, Name: "challenges_total",
				Help: "Step-up challenges, by rule, reason (no_session, acr, amr, max_age, risk, invalid_token) and mode (enforce, or report_only when the challenge was only recorded).",
			}, []string{"rule", "reason", "mode"}),
			logins: prometheus.NewCounterVec(prometheus.CounterOpts{
				Namespace: ns, Subsystem: sub, Name: "logins_total",
				Help: "Completed step-up logins (result=success), refused ones (result=failure) and ones retried once with prompt=login (result=retry) by reason (state, code, nonce, token, acr, amr, auth_time, subject, idp, internal).",
			}, []string{"result", "reason"}),
			idpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
				Namespace: ns, Subsystem: sub, Name: "idp_request_duration_seconds",
				Help:    "Latency of calls to the OpenID Provider by endpoint (discovery, token, jwks).",
				Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
			}, []string{"endpoint"}),
			riskScore: prometheus.NewHistogram(prometheus.HistogramOpts{
				Namespace: ns, Subsystem: sub, Name: "risk_score",
				Help:    "Risk scores of evaluated requests (0-100).",
				Buckets: []float64{0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100},
			}),
			sessionDecodes: prometheus.NewCounterVec(prometheus.CounterOpts{
				Namespace: ns, Subsystem: sub, Name: "session_decode_failures_total",
				Help: "Session cookies presented that could not be used, by reason (sealed: tampered, truncated or foreign key; format; expired).",
			}, []string{"reason"}),
		}
		m.passed = m.requests.WithLabelValues(outcomePass)
		m.passedNoRule = m.requests.WithLabelValues("pass_unprotected")
		metricsOnce.m = m
	})
	return metricsOnce.m
}

// register adds the collectors to a config's registry; a second stepup
// handler in the same config finds them already there, which is fine.
func (m *stepupMetrics) register(reg *prometheus.Registry) error {
	if reg == nil { // a nil *Registry would be a non-nil Registerer
		return nil
	}
	return m.registered.Register(reg, m.requests, m.challenges, m.logins, m.idpDuration, m.riskScore, m.sessionDecodes)
}
