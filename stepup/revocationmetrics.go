package stepup

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddy-stepup/caddy-stepup/internal/promreg"
)

// revocationMetrics count back-channel logouts and the requests they end.
// Process-wide, registered into each config's registry; labels are bounded.
var revocationMetrics = struct {
	backchannel *prometheus.CounterVec
	refused     *prometheus.CounterVec
}{
	backchannel: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "stepup", Name: "backchannel_logouts_total",
		Help: "Back-channel logout requests, by result (revoked, or why refused: content_type, malformed, signature, claims, expired, replayed, idp_unavailable, store_unavailable).",
	}, []string{"result"}),
	refused: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "stepup", Name: "revocation_checks_total",
		Help: "Sessions not honoured by the revocation check, by reason (revoked; stale: the shared revocation list could not be refreshed and on_outage is closed).",
	}, []string{"reason"}),
}

// revocationRegistered remembers the registry last filled.
var revocationRegistered promreg.Once

// registerRevocationMetrics registers them into a config's registry, once
// per config however many handlers ask.
func registerRevocationMetrics(reg prometheus.Registerer) error {
	return revocationRegistered.Register(reg, revocationMetrics.backchannel, revocationMetrics.refused)
}
