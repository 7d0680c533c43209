package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// profile takes a CPU profile of Caddy while it serves callbacks.
func (t *loginTarget) profile(c *loginsConfig) error {
	dir := filepath.Join(c.out, "profiles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Enough callbacks to keep the server busy for the whole profile.
	batch, err := t.prepare(max(4*c.logins, 3000))
	if err != nil {
		return err
	}
	path := filepath.Join(dir, fmt.Sprintf("logins-%s-%s.pprof", t.name, t.alg))
	done := make(chan error, 1)
	go func() { done <- saveCPUProfile(t.adminPort, 5, path) }()
	time.Sleep(100 * time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; time.Now().Before(deadline) && i < len(batch); {
		end := min(i+c.logins, len(batch))
		if _, err := t.measure(c, batch[i:end]); err != nil {
			return err
		}
		i = end
	}
	if err := <-done; err != nil {
		return fmt.Errorf("profiling %s %s: %w", t.name, t.alg, err)
	}
	fmt.Fprintf(os.Stderr, "stepup-bench: CPU profile of %s %s callbacks: %s\n", t.name, t.alg, path)
	return nil
}
