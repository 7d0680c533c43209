package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/caddy-stepup/caddy-stepup/internal/freeport"
)

// startRedis runs a redis-server (Debian's package) for the risk_redis
// target on a free loopback port, pinned beside Caddy, without
// persistence; the caller stops it.
func startRedis(ctx context.Context, cpus, work string) (*exec.Cmd, string, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, "", fmt.Errorf("the risk_redis target needs redis-server (scripts/install-deps): %w", err)
	}
	port := freeport.Port()
	cmd, err := startPinned(ctx, cpus, filepath.Join(work, "redis.log"), nil, bin,
		"--bind", "127.0.0.1", "--port", fmt.Sprint(port), "--save", "", "--appendonly", "no", "--dir", work)
	if err != nil {
		return nil, "", err
	}
	if err := waitListening(port, 10*time.Second); err != nil {
		stop(cmd)
		return nil, "", fmt.Errorf("redis-server: %w (see %s)", err, filepath.Join(work, "redis.log"))
	}
	return cmd, addr(port), nil
}
