package risk

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func parseFixture(t *testing.T, name string) ([]netip.Prefix, []lineError) {
	t.Helper()
	path := filepath.Join("testdata", name)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ps, bad, err := parseList(path, f)
	if err != nil {
		t.Fatalf("parseList(%s): %v", name, err)
	}
	return ps, bad
}

func TestEachListFormatIsReadAsDownloaded(t *testing.T) {
	tests := []struct {
		file     string
		entries  int
		listed   []string
		unlisted []string
	}{
		{"plain.txt", 5,
			[]string{"192.0.2.1", "198.51.100.0", "198.51.100.127", "203.0.113.7", "2001:db8:1:ffff::1", "2001:db8::5"},
			[]string{"192.0.2.2", "198.51.100.128", "203.0.113.8", "2001:db8:2::1", "2001:db8::6"}},
		{"firehol_level1.netset", 5,
			[]string{"0.1.2.3", "100.127.255.255", "192.0.2.64", "203.0.113.200", "216.160.83.63"},
			[]string{"1.0.0.0", "100.128.0.0", "192.0.2.63", "216.160.83.64"}},
		{"drop.txt", 3,
			[]string{"198.18.0.0", "198.19.255.255", "198.51.100.200", "233.252.0.9"},
			[]string{"198.17.255.255", "198.51.100.127"}},
		{"dropv6.txt", 2,
			[]string{"2001:db8:dead::1", "3fff:1ff:ffff::1"},
			[]string{"2001:db8:beef::1", "3fff:200::"}},
		{"drop_v4.json", 2,
			[]string{"192.0.2.200", "198.19.1.1"},
			[]string{"192.0.2.127", "198.20.0.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ps, bad := parseFixture(t, tt.file)
			if len(bad) != 0 {
				t.Fatalf("bad lines in a clean file: %v", bad)
			}
			if len(ps) != tt.entries {
				t.Errorf("%d entries, want %d: %v", len(ps), tt.entries, ps)
			}
			set := buildIPSet(ps)
			for _, ip := range tt.listed {
				if !set.contains(netip.MustParseAddr(ip)) {
					t.Errorf("%s should be listed", ip)
				}
			}
			for _, ip := range tt.unlisted {
				if set.contains(netip.MustParseAddr(ip)) {
					t.Errorf("%s should not be listed", ip)
				}
			}
		})
	}
}

func TestBadListLinesAreReportedWithFileAndLineAndSkipped(t *testing.T) {
	ps, bad := parseFixture(t, "bad.txt")
	path := filepath.Join("testdata", "bad.txt")
	want := []lineError{
		{path, 2, "not-an-ip", "not an IP address or CIDR"},
		{path, 3, "10.0.0.1/33", "not an IP address or CIDR"},
		{path, 4, "0.0.0.0/0", "a /0 prefix would match every address"},
		{path, 5, "192.0.2.9/24", "host bits set (the network would be 192.0.2.0/24)"},
		{path, 6, "192.0.2.10 192.0.2.11", "more than one value on the line (want one address or CIDR)"},
		{path, 7, "fe80::1%eth0", "addresses with a zone cannot be listed"},
		{path, 8, "::/0", "a /0 prefix would match every address"},
		{path, 9, "::ffff:0:0/96", "a /0 prefix would match every address"},
		{path, 10, `{"sblid":"SBL1"}`, "JSON line without a cidr field"},
	}
	if !reflect.DeepEqual(bad, want) {
		t.Errorf("bad lines:\n got %v\nwant %v", bad, want)
	}
	if got := bad[0].Error(); got != `testdata/bad.txt:2: not an IP address or CIDR: "not-an-ip"` {
		t.Errorf("Error() = %s", got)
	}
	wantPrefixes := []netip.Prefix{netip.MustParsePrefix("192.0.2.200/32"), netip.MustParsePrefix("198.51.100.0/24")}
	if !reflect.DeepEqual(ps, wantPrefixes) {
		t.Errorf("kept %v, want %v (the IPv4-mapped prefix as IPv4)", ps, wantPrefixes)
	}
	set := buildIPSet(ps)
	for _, ip := range []string{"8.8.8.8", "192.0.2.9", "10.0.0.1", "2001:db8::1", "fe80::1"} {
		if set.contains(netip.MustParseAddr(ip)) {
			t.Errorf("%s matched: a bad line widened the list", ip)
		}
	}
}

func TestListParsingHandlesBOMCRLFAndOverlongLines(t *testing.T) {
	ps, bad, err := parseList("x", strings.NewReader("\uFEFF192.0.2.1\r\n2001:db8::/32\r\n"))
	if err != nil || len(bad) != 0 || len(ps) != 2 {
		t.Fatalf("got %v %v %v", ps, bad, err)
	}
	if _, _, err := parseList("x", strings.NewReader(strings.Repeat("1", 70000))); err == nil {
		t.Fatal("a 70 kB line should make the file unreadable, not be skipped silently")
	}
	_, bad, _ = parseList("x", strings.NewReader(strings.Repeat("z", 200)))
	if len(bad) != 1 || len(bad[0].Text) > maxQuotedLine+len("…") {
		t.Fatalf("long bad line not truncated in the report: %v", bad)
	}
}
