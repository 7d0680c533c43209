package risk

import (
	"math/rand/v2"
	"net/netip"
	"testing"
)

func prefixes(t testing.TB, ss ...string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, s := range ss {
		p, ok, reason := parsePrefix(s)
		if !ok {
			t.Fatalf("%s: %s", s, reason)
		}
		out = append(out, p)
	}
	return out
}

func TestIPSetContainsExactlyTheAddressesOfItsPrefixes(t *testing.T) {
	set := buildIPSet(prefixes(t,
		"10.0.0.0/8", "10.1.0.0/16", // nested: merged
		"192.0.2.0/25", "192.0.2.128/25", // adjacent: merged
		"198.51.100.7", "255.255.255.255/32",
		"2001:db8::/32", "2001:db8:1::/48",
		"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff::/64",
		"3fff::/20",
	))
	tests := []struct {
		ip   string
		want bool
	}{
		{"10.0.0.0", true}, {"10.255.255.255", true}, {"9.255.255.255", false}, {"11.0.0.0", false},
		{"192.0.2.0", true}, {"192.0.2.255", true}, {"192.0.3.0", false}, {"192.0.1.255", false},
		{"198.51.100.7", true}, {"198.51.100.6", false}, {"198.51.100.8", false},
		{"255.255.255.255", true}, {"0.0.0.0", false},
		{"2001:db8::", true}, {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", true}, {"2001:db9::", false}, {"2001:db7:ffff::", false},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true}, {"ffff:ffff:ffff:fffe::", false},
		{"3fff:0fff:ffff::1", true}, {"3fff:1000::", false},
		{"::", false}, {"::10.0.0.1", false}, // an IPv6 address is not the IPv4 one
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			if got := set.contains(netip.MustParseAddr(tt.ip)); got != tt.want {
				t.Errorf("contains(%s) = %v, want %v", tt.ip, got, tt.want)
			}
		})
	}
	if got, want := set.spans(), 7; got != want {
		t.Errorf("spans = %d, want %d (nested and adjacent prefixes merged)", got, want)
	}
}

func TestEmptyIPSetContainsNothing(t *testing.T) {
	var nilSet *ipSet
	for _, s := range []*ipSet{nilSet, buildIPSet(nil)} {
		if s.contains(netip.MustParseAddr("192.0.2.1")) || s.contains(netip.MustParseAddr("::1")) || s.contains(netip.Addr{}) {
			t.Fatal("an empty set matched")
		}
	}
}

// The interval search must agree with a plain scan of the prefixes.
func TestIPSetAgreesWithALinearScanOnRandomPrefixes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var ps []netip.Prefix
	for range 2000 {
		ps = append(ps, randomPrefix(rng))
	}
	set := buildIPSet(ps)
	for i := range 20000 {
		ip := randomAddr(rng, i%2 == 0)
		if i%3 == 0 { // probe near prefix boundaries too
			ip = ps[rng.IntN(len(ps))].Addr().Prev()
		}
		want := false
		for _, p := range ps {
			if p.Contains(ip) {
				want = true
				break
			}
		}
		if got := set.contains(ip); got != want {
			t.Fatalf("contains(%s) = %v, linear scan says %v", ip, got, want)
		}
	}
}

func randomAddr(rng *rand.Rand, v4 bool) netip.Addr {
	if v4 {
		return netip.AddrFrom4([4]byte{byte(rng.IntN(8)), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())})
	}
	var b [16]byte
	b[0], b[1] = 0x20, byte(rng.IntN(4))
	for i := 2; i < 16; i++ {
		b[i] = byte(rng.Uint32())
	}
	return netip.AddrFrom16(b)
}

func randomPrefix(rng *rand.Rand) netip.Prefix {
	if rng.IntN(2) == 0 {
		p, _ := randomAddr(rng, true).Prefix(8 + rng.IntN(25))
		return p
	}
	p, _ := randomAddr(rng, false).Prefix(16 + rng.IntN(113))
	return p
}
