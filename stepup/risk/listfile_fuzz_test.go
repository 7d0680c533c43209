package risk

import (
	"strings"
	"testing"
)

// FuzzParseList: whatever a downloaded list contains, parsing never panics,
// every bad line is reported with its number, and no accepted prefix is
// wider than what its own line says — in particular, garbage never turns
// into 0.0.0.0/0 or ::/0 (a list that would match everything).
func FuzzParseList(f *testing.F) {
	for _, seed := range []string{
		"# comment\n192.0.2.1\n198.51.100.0/24\n2001:db8::/32\n",
		"1.10.16.0/20 ; SBL256894\n; Spamhaus DROP\n",
		`{"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"}` + "\n" + `{"type":"metadata","timestamp":1}` + "\n",
		"\uFEFF203.0.113.0/24\n",
		"not an address\n0.0.0.0/0\n::/0\n10.0.0.0/8 trailing\n",
		"::ffff:192.0.2.1/128\n192.0.2.1/33\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		prefixes, bad, err := parseList("fuzz.txt", strings.NewReader(text))
		if err != nil {
			return // an unreadable stream (a line over the scanner limit)
		}
		lines := strings.Count(text, "\n") + 1
		for _, b := range bad {
			if b.Line < 1 || b.Line > lines || b.Path != "fuzz.txt" || b.Reason == "" {
				t.Fatalf("bad line reported as %+v (text has %d lines)", b, lines)
			}
		}
		for _, p := range prefixes {
			if !p.IsValid() || p != p.Masked() {
				t.Fatalf("accepted %v, which is not a masked prefix", p)
			}
			if p.Bits() == 0 && !strings.Contains(text, "/0") {
				t.Fatalf("accepted %v although no line asked for a /0", p)
			}
			if p.Addr().Is4In6() {
				t.Fatalf("accepted %v as IPv4-mapped IPv6; it must be stored as IPv4", p)
			}
		}
	})
}
