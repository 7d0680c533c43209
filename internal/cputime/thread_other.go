//go:build !linux

package cputime

import "time"

// Thread is not measured off Linux: 0, and metrics built on it are left out.
func Thread() time.Duration { return 0 }
