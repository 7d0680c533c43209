package main

import (
	"fmt"
	"net"
	"strconv"
	"time"
)

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
