package main

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/caddy-stepup/caddy-stepup/internal/freeport"
)

// freePort returns a loopback port below the ephemeral range that was free a
// moment ago, for a server this tool starts.
func freePort() int { return freeport.MustPick(1)[0] }

func waitListening(port int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr(port), time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nothing listening on %s after %s", addr(port), within)
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

func site(port int) string { return "http://" + addr(port) }
