// Package freeport picks loopback TCP ports for a server that binds them
// itself a moment later: a Caddy, Hydra, redis-server or kube-apiserver the
// caller is about to start, or a Caddy config it is about to load.
//
// The usual trick, binding 127.0.0.1:0 and closing, hands out a port from the
// kernel's ephemeral range, the range every outgoing connection also draws
// its local port from. In the gap before the server binds, any HTTP client on
// the machine can take that port, and the server fails with "address already
// in use"; CI hit exactly that with Caddy's third site while other test
// packages were busy. Ports below the ephemeral range are never given to
// outgoing connections, so Pick draws from there at random and checks each
// port is free for TCP and UDP (Caddy serves HTTP/3 on the same number). A
// clash then needs another picker to draw the same port in the same moment.
package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// poolFloor is the lowest port Pick draws: above the well-known and most
// registered service ports (redis 6379, postgres 5432, 8080, 9090, …).
const poolFloor = 20000

// minPool is the smallest pool worth drawing from; on a machine whose
// ephemeral range starts lower, Pick falls back to the kernel's choice.
const minPool = 2000

// Pick returns n distinct loopback ports that were free for TCP and UDP when
// it returned, none of them returned by an earlier Pick in this process.
func Pick(n int) ([]int, error) {
	low, ok := ephemeralLow()
	if !ok || low-poolFloor < minPool {
		return kernelPicked(n)
	}
	return drawn(n, poolFloor, low)
}

// MustPick is Pick for tests and benchmarks, which cannot go on without ports.
func MustPick(n int) []int {
	ports, err := Pick(n)
	if err != nil {
		panic(err)
	}
	return ports
}

// Port is one picked port, for tests and benchmarks.
func Port() int { return MustPick(1)[0] }

// Addr returns "127.0.0.1:<port>" for one picked port.
func Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(Port()))
}

// handedOut holds every port Pick has returned in this process: a server
// started with one may not have bound it yet, so a later Pick must not draw
// it again (separate one-port picks would otherwise collide about once in
// ten thousand pairs).
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// drawn picks n distinct free ports at random from [from, to), none of them
// handed out before.
func drawn(n, from, to int) ([]int, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries > 200*n {
			return nil, fmt.Errorf("freeport: no free loopback port in %d–%d after %d tries", from, to-1, tries)
		}
		p := from + rand.IntN(to-from)
		if handedOut.ports[p] || !free(p) {
			continue
		}
		handedOut.ports[p] = true
		ports = append(ports, p)
	}
	return ports, nil
}

// free reports whether port can be bound on 127.0.0.1 for TCP and for UDP,
// and on ::1 for TCP where the machine has IPv6 (the demo's Caddy binds
// both for "localhost").
func free(port int) bool {
	p := strconv.Itoa(port)
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", p))
	if err != nil {
		return false
	}
	defer l.Close()
	u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", p))
	if err != nil {
		return false
	}
	u.Close()
	l6, err := net.Listen("tcp", net.JoinHostPort("::1", p))
	if errors.Is(err, syscall.EADDRINUSE) {
		return false
	}
	if err == nil {
		l6.Close()
	}
	return true
}

// kernelPicked is the fallback where the ephemeral range cannot be read or
// leaves no room below it: the kernel's choice, still never a port handed
// out before.
func kernelPicked(n int) ([]int, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	ports := make([]int, 0, n)
	for tries := 0; len(ports) < n; tries++ {
		if tries > 200*n {
			return nil, fmt.Errorf("freeport: the kernel gave only ports handed out before, %d tries", tries)
		}
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("freeport: %w", err)
		}
		defer l.Close()
		p := l.Addr().(*net.TCPAddr).Port
		if handedOut.ports[p] {
			continue
		}
		handedOut.ports[p] = true
		ports = append(ports, p)
	}
	return ports, nil
}

// ephemeralLow reads the first port of Linux's ephemeral range.
func ephemeralLow() (int, bool) {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0, false
	}
	low, err := parseRangeLow(string(b))
	return low, err == nil
}

func parseRangeLow(s string) (int, error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, errors.New("want two fields")
	}
	return strconv.Atoi(f[0])
}
