package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// profileAll takes a CPU profile of each Caddy while wrk loads it.
func profileAll(c *loadConfig, targets []*target) error {
	dir := filepath.Join(c.out, "profiles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	seconds := max(int(c.duration.Seconds())-1, 1)
	for _, t := range targets {
		errc := make(chan error, 1)
		go func() {
			_, err := wrk(c, t, c.duration)
			errc <- err
		}()
		time.Sleep(500 * time.Millisecond)
		path := filepath.Join(dir, t.name+".pprof")
		if err := saveCPUProfile(t.adminPort, seconds, path); err != nil {
			return fmt.Errorf("profiling %s: %w", t.name, err)
		}
		if err := <-errc; err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "stepup-bench: CPU profile of %s under load: %s\n", t.name, path)
	}
	return nil
}

// saveCPUProfile writes a CPU profile of the Caddy whose admin API listens
// on adminPort, taken over the next seconds, to path.
func saveCPUProfile(adminPort, seconds int, path string) error {
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr(adminPort), seconds))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
