package promreg

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// countingRegistry counts Register calls into a real registry.
type countingRegistry struct {
	*prometheus.Registry
	calls int
}

func (r *countingRegistry) Register(c prometheus.Collector) error {
	r.calls++
	return r.Registry.Register(c)
}

func TestRegistersOncePerRegistry(t *testing.T) {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "promreg_test_total", Help: "test"})
	var once Once
	first := &countingRegistry{Registry: prometheus.NewRegistry()}
	for range 1000 { // a thousand handlers of one config
		if err := once.Register(first, c); err != nil {
			t.Fatal(err)
		}
	}
	if first.calls != 1 {
		t.Fatalf("%d Register calls for one registry, want 1", first.calls)
	}
	// The next config's registry gets the collector too.
	next := &countingRegistry{Registry: prometheus.NewRegistry()}
	if err := once.Register(next, c); err != nil {
		t.Fatal(err)
	}
	if got, err := next.Gather(); err != nil || len(got) != 1 || got[0].GetName() != "promreg_test_total" {
		t.Fatalf("next registry gathers %v (%v), want the counter", got, err)
	}
	if next.calls != 1 {
		t.Fatalf("%d Register calls for the next registry, want 1", next.calls)
	}
}

// Registered already (by hand, or another Once) is not an error; a real
// conflict is, and is asked again next time rather than remembered.
func TestAlreadyRegisteredIsFineAConflictIsNot(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "promreg_dup_total", Help: "test"})
	reg.MustRegister(c)
	var once Once
	if err := once.Register(reg, c); err != nil {
		t.Fatalf("already registered: %v", err)
	}
	clash := prometheus.NewGauge(prometheus.GaugeOpts{Name: "promreg_dup_total", Help: "other help"})
	other := prometheus.NewRegistry()
	other.MustRegister(c)
	var once2 Once
	if err := once2.Register(other, clash); err == nil {
		t.Fatal("a clashing collector registered without an error")
	}
	if err := once2.Register(other, clash); err == nil {
		t.Fatal("the failed registry was remembered: the second ask did not try again")
	}
}

func TestNilRegistry(t *testing.T) {
	var once Once
	if err := once.Register(nil, prometheus.NewCounter(prometheus.CounterOpts{Name: "x", Help: "x"})); err != nil {
		t.Fatal(err)
	}
}
