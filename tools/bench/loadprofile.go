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
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr(t.adminPort), seconds))
		if err != nil {
			return fmt.Errorf("profiling %s: %w", t.name, err)
		}
		path := filepath.Join(dir, t.name+".pprof")
		f, err := os.Create(path)
		if err == nil {
			_, err = io.Copy(f, resp.Body)
			f.Close()
		}
		resp.Body.Close()
		if err != nil {
			return err
		}
		if err := <-errc; err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "stepup-bench: CPU profile of %s under load: %s\n", t.name, path)
	}
	return nil
}
