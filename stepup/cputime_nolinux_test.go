//go:build !linux

package stepup

import "time"

// threadCPU is not measured off Linux; metrics built on it are left out.
func threadCPU() time.Duration { return 0 }
