package state

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddy-stepup/caddy-stepup/internal/promreg"
)

// storeMetrics are process-wide, registered into each config's registry.
var storeMetrics = struct {
	errors      *prometheus.CounterVec
	up          prometheus.Gauge
	revocations prometheus.Gauge
}{
	errors: prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "caddy", Subsystem: "stepup", Name: "state_errors_total",
		Help: "Operations on the shared state store that failed because it was unreachable, by use (fresh_pass, logout_jti, revoke, revocation_sync, regulation).",
	}, []string{"use"}),
	up: prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "caddy", Subsystem: "stepup", Name: "state_up",
		Help: "1 when the last read of the shared revocation log succeeded, 0 when the store was unreachable (redis backend only).",
	}),
	revocations: prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: "caddy", Subsystem: "stepup", Name: "state_revocations",
		Help: "Revocation cut-offs (per subject or per sid) held in this replica's local copy.",
	}),
}

// metricsRegistered remembers the registry RegisterMetrics filled last.
var metricsRegistered promreg.Once

// RegisterMetrics registers the store's collectors into reg; registering
// twice (every config load) is not an error, and the second and later
// handlers of one config cost nothing.
func RegisterMetrics(reg prometheus.Registerer) error {
	return metricsRegistered.Register(reg, storeMetrics.errors, storeMetrics.up, storeMetrics.revocations)
}
