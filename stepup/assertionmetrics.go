package stepup

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddy-stepup/caddy-stepup/internal/promreg"
)

// assertionSigned counts the assertion signatures made, by how their nonce
// came: an operator sees whether the pool keeps up (whole signatures cost
// the request several times more) and what signing costs overall.
// Process-wide, registered into each config's registry.
var assertionSigned = prometheus.NewCounterVec(prometheus.CounterOpts{
	Namespace: "caddy", Subsystem: "stepup", Name: "assertions_signed_total",
	Help: "Signed assertions made (a cache miss, or a background re-signing), by nonce: pooled (finished from a nonce made ahead of time) or whole (the pool was empty or is turned off).",
}, []string{"nonce"})

// Pre-bound children: no label lookup when signing.
var (
	assertionSignedPooled = assertionSigned.WithLabelValues("pooled")
	assertionSignedWhole  = assertionSigned.WithLabelValues("whole")
)

// assertionMetricsRegistered remembers the registry last filled.
var assertionMetricsRegistered promreg.Once

// registerAssertionMetrics registers them into a config's registry, once per
// config however many handlers ask.
func registerAssertionMetrics(reg *prometheus.Registry) error {
	if reg == nil { // a nil *Registry would be a non-nil Registerer
		return nil
	}
	return assertionMetricsRegistered.Register(reg, assertionSigned)
}
