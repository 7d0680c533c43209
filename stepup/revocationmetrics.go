package stepup

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
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

func registerRevocationMetrics(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{revocationMetrics.backchannel, revocationMetrics.refused} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return err
			}
		}
	}
	return nil
}
