// Package promreg registers a fixed set of process-wide Prometheus
// collectors into each config's registry once. Every stepup handler of a
// config asks for it, and a registration already done is a full descriptor
// check and an error built per collector: a thousand handlers repeated it
// a thousand times per reload.
package promreg

import (
	"errors"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Once registers its collectors into a registry the first time it is
// asked for that registry, and does nothing for later asks until another
// registry (the next config load's) comes.
type Once struct {
	mu   sync.Mutex
	last prometheus.Registerer
}

// Register adds cs to reg unless this Once registered them there last. A
// collector already in reg (registered by an earlier Once or by hand) is
// fine; any other error is returned and the registry is not remembered.
func (o *Once) Register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	if reg == nil {
		return nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.last == reg {
		return nil
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return err
			}
		}
	}
	o.last = reg
	return nil
}
