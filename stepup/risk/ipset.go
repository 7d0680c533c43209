package risk

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
)

// ipSet answers "is this address in any of these prefixes" in O(log n):
// the prefixes become sorted, merged, non-overlapping address intervals,
// searched by binary search. It is immutable once built, so lookups need no
// lock; a reload builds a new one.
type ipSet struct {
	v4 []span4
	v6 []span6
}

type span4 struct{ lo, hi uint32 }

type span6 struct{ lo, hi u128 }

// u128 is an IPv6 address as two big-endian halves, ordered like the address.
type u128 struct{ hi, lo uint64 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

// next returns a+1 and whether it did not overflow.
func (a u128) next() (u128, bool) {
	lo := a.lo + 1
	hi := a.hi
	if lo == 0 {
		hi++
	}
	return u128{hi, lo}, !(hi == 0 && lo == 0)
}

func addr6(ip netip.Addr) u128 {
	b := ip.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func addr4(ip netip.Addr) uint32 {
	b := ip.As4()
	return binary.BigEndian.Uint32(b[:])
}

// buildIPSet turns prefixes (masked, IPv4 as 4-byte addresses) into an ipSet.
func buildIPSet(prefixes []netip.Prefix) *ipSet {
	s := &ipSet{}
	for _, p := range prefixes {
		if p.Addr().Is4() {
			lo := addr4(p.Addr())
			hi := lo | uint32(uint64(1)<<(32-p.Bits())-1)
			s.v4 = append(s.v4, span4{lo, hi})
			continue
		}
		lo := addr6(p.Addr())
		hostBits := 128 - p.Bits()
		hi := lo
		switch {
		case hostBits >= 64:
			hi.lo = ^uint64(0)
			hi.hi |= uint64(1)<<(hostBits-64) - 1
		default:
			hi.lo |= uint64(1)<<hostBits - 1
		}
		s.v6 = append(s.v6, span6{lo, hi})
	}
	s.v4 = merge4(s.v4)
	s.v6 = merge6(s.v6)
	return s
}

func merge4(spans []span4) []span4 {
	slices.SortFunc(spans, func(a, b span4) int { return cmp.Compare(a.lo, b.lo) })
	out := spans[:0]
	for _, sp := range spans {
		if n := len(out); n > 0 && (out[n-1].hi == ^uint32(0) || sp.lo <= out[n-1].hi+1) {
			out[n-1].hi = max(out[n-1].hi, sp.hi)
			continue
		}
		out = append(out, sp)
	}
	return slices.Clip(out)
}

func merge6(spans []span6) []span6 {
	slices.SortFunc(spans, func(a, b span6) int { return a.lo.cmp(b.lo) })
	out := spans[:0]
	for _, sp := range spans {
		if n := len(out); n > 0 {
			last := &out[n-1]
			after, ok := last.hi.next()
			if !ok || sp.lo.cmp(after) <= 0 {
				if sp.hi.cmp(last.hi) > 0 {
					last.hi = sp.hi
				}
				continue
			}
		}
		out = append(out, sp)
	}
	return slices.Clip(out)
}

// contains reports whether ip (unmapped) is in the set. It allocates nothing.
func (s *ipSet) contains(ip netip.Addr) bool {
	switch {
	case s == nil || !ip.IsValid():
		return false
	case ip.Is4():
		x := addr4(ip)
		// Find the first span starting after x; the one before it is the
		// only candidate.
		lo, hi := 0, len(s.v4)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if s.v4[m].lo <= x {
				lo = m + 1
			} else {
				hi = m
			}
		}
		return lo > 0 && x <= s.v4[lo-1].hi
	default:
		x := addr6(ip)
		lo, hi := 0, len(s.v6)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if s.v6[m].lo.cmp(x) <= 0 {
				lo = m + 1
			} else {
				hi = m
			}
		}
		return lo > 0 && x.cmp(s.v6[lo-1].hi) <= 0
	}
}

// spans is the number of merged intervals, for logs and tests.
func (s *ipSet) spans() int {
	return len(s.v4) + len(s.v6)
}
