package risk

import (
	"net/netip"
	"testing"

	"github.com/caddy-stepup/caddy-stepup/internal/mmdbtest"
)

// The address cache answers exactly what walking the tree answers, for
// addresses the database knows and ones it does not, IPv4 and IPv6, and
// for addresses that share a slot and keep evicting each other.
func TestGeoAddressCacheAnswersWhatTheTreeAnswers(t *testing.T) {
	db, err := openGeoDB(testDBs(t).City, "country")
	if err != nil {
		t.Fatal(err)
	}
	addrs := []netip.Addr{london, milton, sanDiego, linkoping, tokyo6, gb6, private, sanDiego6,
		manchester, registeredOnly, netip.AddrFrom16(london.As16()),
		netip.MustParseAddr(mmdbtest.LondonOther), netip.MustParseAddr("2001:db8:81::2")}
	// Two addresses in one slot, found by search from the databases'
	// networks on.
	bySlot := map[uint64]netip.Addr{}
	for i := range 1 << 20 {
		a := netip.AddrFrom4([4]byte{198, 51, byte(100 + i>>8), byte(i)})
		if other, ok := bySlot[addrSlot(a)]; ok {
			addrs = append(addrs, other, a)
			break
		}
		bySlot[addrSlot(a)] = a
	}
	if addrSlot(addrs[len(addrs)-1]) != addrSlot(addrs[len(addrs)-2]) {
		t.Fatal("no colliding pair found")
	}
	for round := range 3 { // cold, then from the cache, then again after collisions evicted entries
		for _, a := range addrs {
			got, err := db.lookup(a)
			if err != nil {
				t.Fatal(err)
			}
			want, err := db.walk(a)
			if err != nil {
				t.Fatal(err)
			}
			if (got == nil) != (want == nil) || got != nil && *got != *want {
				t.Fatalf("round %d, %s: cached lookup %+v, tree %+v", round, a, got, want)
			}
		}
	}
	if r, _ := db.lookup(london); r == nil || r.country != [2]byte{'G', 'B'} {
		t.Fatalf("london: %+v", r)
	}
	if r, _ := db.lookup(private); r != nil {
		t.Fatalf("a private address found: %+v", r)
	}
}

func TestGeoRepeatLookupsAllocateNothing(t *testing.T) {
	db, err := openGeoDB(testDBs(t).City, "country")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []netip.Addr{london, private} {
		db.lookup(a)
		if n := testing.AllocsPerRun(100, func() { db.lookup(a) }); n != 0 {
			t.Errorf("%s: %v allocations per repeat lookup", a, n)
		}
	}
}
