package risk

import (
	"net/netip"
	"testing"
	"time"
)

func frequencyEngine(t *testing.T) *Engine {
	e, _ := newEngine(t, &Config{Frequency: &FrequencyConfig{Limit: 5, IPLimit: 8, Window: 60_000_000_000, Weight: 35}})
	return e
}

func TestABurstAboveTheLimitScores(t *testing.T) {
	e := frequencyEngine(t)
	ip := netip.MustParseAddr("192.0.2.1")
	var got []string
	for i := range 10 {
		// One session, one address, a request a second.
		r := evaluate(e, Request{Now: t0.Add(time.Duration(i) * time.Second), ClientIP: ip, SessionKey: 42})
		got = append(got, r.Reasons())
	}
	want := []string{"", "", "", "", "",
		"frequency_session=35", "frequency_session=35", "frequency_session=35",
		"frequency_ip=35 frequency_session=35", "frequency_ip=35 frequency_session=35"}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d: %q, want %q", i+1, got[i], want[i])
		}
	}
}

func TestTheWindowSlides(t *testing.T) {
	e := frequencyEngine(t)
	ip := netip.MustParseAddr("192.0.2.1")
	start := t0.Truncate(time.Minute)
	for i := range 5 {
		evaluate(e, Request{Now: start.Add(time.Duration(i) * time.Second), SessionKey: 7, ClientIP: ip})
	}
	tests := []struct {
		name  string
		at    time.Duration
		fires bool
	}{
		// 5 in the window, the 6th is over the limit.
		{"a sixth request within the window", 50 * time.Second, true},
		// Half-way through the next window, half of the previous 6 count: 3+1.
		{"half a window later", 90 * time.Second, false},
		{"a window later", 200 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := evaluate(e, Request{Now: start.Add(tt.at), SessionKey: 7, ClientIP: ip})
			if r.Has(SignalFrequencySession) != tt.fires {
				t.Errorf("fired %v, want %v", !tt.fires, tt.fires)
			}
		})
	}
}

func TestSessionsAndAddressesAreCountedApart(t *testing.T) {
	e := frequencyEngine(t)
	for i := range 20 {
		// Many sessions on one NAT address: the address fires, no session does.
		r := evaluate(e, Request{Now: t0, ClientIP: netip.MustParseAddr("198.51.100.1"), SessionKey: uint64(i + 1)})
		if r.Has(SignalFrequencySession) {
			t.Fatalf("session %d fired on its first request", i+1)
		}
		if fired := r.Has(SignalFrequencyIP); fired != (i >= 8) {
			t.Fatalf("request %d: frequency_ip fired %v", i+1, fired)
		}
	}
	// Requests without a session count only per address.
	if r := evaluate(e, Request{Now: t0, ClientIP: netip.MustParseAddr("198.51.100.2")}); r.N != 0 {
		t.Errorf("%s", r.Reasons())
	}
}

func TestAnIPv6ClientIsCountedPerSlash64(t *testing.T) {
	e := frequencyEngine(t)
	var r *Result
	for i := range 9 {
		// Rotating through the /64 does not escape the count.
		ip := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 15: byte(i)})
		r = evaluate(e, Request{Now: t0, ClientIP: ip})
	}
	if !r.Has(SignalFrequencyIP) {
		t.Error("9 requests from one /64 did not fire")
	}
	if r := evaluate(e, Request{Now: t0, ClientIP: netip.MustParseAddr("2001:db8:1:3::1")}); r.N != 0 {
		t.Errorf("the neighbouring /64 was counted with it: %s", r.Reasons())
	}
}

func TestAHeavyHitterStaysCountedWhileAMillionOthersChurn(t *testing.T) {
	tab := newCounterTable(minCapacity, time.Minute)
	heavy := tab.ipKey(netip.MustParseAddr("203.0.113.9"))
	var count uint64
	for i := range 1_000_000 {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		tab.hit(tab.ipKey(ip), t0)
		if i%20000 == 0 {
			count = tab.hit(heavy, t0)
		}
	}
	if count != 50 {
		t.Errorf("heavy hitter counted %d, want 50", count)
	}
	if got, want := tab.bytes(), minCapacity*slotBytes+lockStripes*64; got != want {
		t.Errorf("table holds %d bytes, want the fixed %d", got, want)
	}
}

func TestCountersSaturateInsteadOfWrapping(t *testing.T) {
	tab := newCounterTable(minCapacity, time.Hour)
	var n uint64
	for range 70000 {
		n = tab.hit(1, t0)
	}
	if n != 1<<16-1 {
		t.Errorf("count %d, want the 16-bit ceiling %d", n, 1<<16-1)
	}
}

func TestCapacityRoundsUpToAPowerOfTwo(t *testing.T) {
	for _, tt := range []struct{ capacity, slots int }{{1024, 1024}, {1025, 2048}, {65536, 65536}, {100000, 131072}} {
		if got := len(newCounterTable(tt.capacity, time.Minute).buckets) * 4; got != tt.slots {
			t.Errorf("capacity %d: %d slots, want %d", tt.capacity, got, tt.slots)
		}
	}
}

// bytes is the table's fixed memory.
func (t *counterTable) bytes() int {
	return len(t.buckets)*len(bucket{})*slotBytes + lockStripes*64
}
