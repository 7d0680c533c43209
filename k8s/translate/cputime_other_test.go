//go:build !unix

package translate_test

import "time"

// processCPU is not measured here; the benchmark reports 0 cpu-ns/op.
func processCPU() time.Duration { return 0 }
