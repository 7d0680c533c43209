package hydra

import (
	"fmt"
	"net"
)

// freePorts reserves n distinct free TCP ports on 127.0.0.1 by binding :0,
// then releases them for Hydra to bind. Another process could in theory grab
// one in between; on a test machine that race is negligible, and Hydra
// failing to bind shows up clearly in its log.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	listeners := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("reserve a loopback port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
