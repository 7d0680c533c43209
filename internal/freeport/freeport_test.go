package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestPickedPortsAreDistinctFreeAndBelowTheEphemeralRange(t *testing.T) {
	ports, err := Pick(20)
	if err != nil {
		t.Fatal(err)
	}
	low, ok := ephemeralLow()
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Fatalf("port %d picked twice in %v", p, ports)
		}
		seen[p] = true
		if ok && low-poolFloor >= minPool && (p < poolFloor || p >= low) {
			t.Errorf("port %d outside the pool %d–%d", p, poolFloor, low-1)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Errorf("picked port %d cannot be bound: %v", p, err)
			continue
		}
		l.Close()
	}
}

func TestATakenPortIsNeverPicked(t *testing.T) {
	// A pool of two free ports, one of them then held: every draw must
	// give the other.
	p := freePair(t)
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for range 20 {
		ports, err := drawn(1, p, p+2)
		if err != nil {
			t.Fatalf("no port drawn although %d is free: %v", p+1, err)
		}
		if ports[0] == p {
			t.Fatalf("picked port %d while it is held", p)
		}
		forget(ports[0])
	}
}

func TestAPortIsHandedOutOnce(t *testing.T) {
	// Two separate picks from a two-port pool get both ports; a third
	// finds none left, although nothing has bound them.
	first := freePair(t)
	defer forget(first, first+1)
	a, errA := drawn(1, first, first+2)
	b, errB := drawn(1, first, first+2)
	if errA != nil || errB != nil {
		t.Fatalf("draws from a free pool failed: %v, %v", errA, errB)
	}
	if a[0] == b[0] {
		t.Fatalf("port %d handed out twice", a[0])
	}
	if c, err := drawn(1, first, first+2); err == nil {
		t.Fatalf("port %d handed out again", c[0])
	}
}

// freePair finds two adjacent ports that are free now.
func freePair(t *testing.T) int {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if free(p) && free(p+1) {
			return p
		}
	}
	t.Fatal("no two adjacent free ports")
	return 0
}

// forget takes ports back, so that a test can draw from the same pool again.
func forget(ports ...int) {
	handedOut.Lock()
	defer handedOut.Unlock()
	for _, p := range ports {
		delete(handedOut.ports, p)
	}
}

func TestAFullPoolIsAnErrorNotALoop(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	held := l.Addr().(*net.TCPAddr).Port
	if _, err := drawn(1, held, held+1); err == nil {
		t.Fatal("drew a port from a pool whose only port is held")
	}
}

func TestParseRangeLow(t *testing.T) {
	for in, want := range map[string]int{"32768\t60999\n": 32768, "1024 65535": 1024} {
		if got, err := parseRangeLow(in); err != nil || got != want {
			t.Errorf("parseRangeLow(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "32768", "a b"} {
		if _, err := parseRangeLow(in); err == nil {
			t.Errorf("parseRangeLow(%q) accepted", in)
		}
	}
}
