//go:build !unix

package stepup

import "time"

// processCPU is not measured here; benchmarks report 0 cpu-ns/op.
func processCPU() time.Duration { return 0 }
