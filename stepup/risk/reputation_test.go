package risk

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

func reputationConfig(failOpen bool, files ...string) *Config {
	return &Config{IPReputation: &IPReputationConfig{Files: files, Weight: 40, FailOpen: failOpen}}
}

func TestListedClientIPsScoreTheReputationWeight(t *testing.T) {
	var files []string
	for _, f := range []string{"plain.txt", "firehol_level1.netset", "drop.txt", "dropv6.txt", "drop_v4.json"} {
		files = append(files, filepath.Join("testdata", f))
	}
	e, _ := newEngine(t, reputationConfig(false, files...))
	tests := []struct {
		ip     string
		points int
	}{
		{"192.0.2.1", 40},          // plain
		{"::ffff:192.0.2.1", 40},   // the same client, IPv4-mapped
		{"203.0.113.99", 40},       // FireHOL
		{"198.18.7.7", 40},         // DROP
		{"2001:db8:dead:1::1", 40}, // DROPv6
		{"192.0.2.130", 40},        // DROP JSON
		{"2001:db8:1::abcd", 40},   // plain IPv6
		{"8.8.8.8", 0},             // on no list
		{"2001:db8:beef::1", 0},    // on no list
	}
	for _, tt := range tests {
		t.Run(tt.ip, func(t *testing.T) {
			r := evaluate(e, Request{Now: t0, ClientIP: netip.MustParseAddr(tt.ip)})
			if r.Score != tt.points || r.Has(SignalIPReputation) != (tt.points > 0) {
				t.Errorf("score %d (%s), want %d", r.Score, r.Reasons(), tt.points)
			}
		})
	}
	if r := evaluate(e, Request{Now: t0}); r.N != 0 {
		t.Errorf("a request without a client IP scored %s", r.Reasons())
	}
}

func TestAListIsReloadedWhenItsFileChanges(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "list.txt")
	writeFile(t, path, "192.0.2.1\n", t0)
	e, logs := newEngine(t, reputationConfig(false, path))
	a, b := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::7")

	if !evaluate(e, Request{ClientIP: a}).Has(SignalIPReputation) {
		t.Fatal("listed address not matched after load")
	}
	writeFile(t, path, "2001:db8::/64\n", t0.Add(1)) // same size would also do: the time moved
	e.watch.poll()
	if evaluate(e, Request{ClientIP: a}).Has(SignalIPReputation) {
		t.Error("address removed from the file still matches after reload")
	}
	if !evaluate(e, Request{ClientIP: b}).Has(SignalIPReputation) {
		t.Error("address added to the file does not match after reload")
	}
	if n := logs.FilterMessage("risk: IP list loaded").Len(); n != 2 {
		t.Errorf("%d load messages, want 2 (start and one change)", n)
	}
	e.watch.poll() // unchanged: not re-read
	if n := logs.FilterMessage("risk: IP list loaded").Len(); n != 2 {
		t.Errorf("an unchanged file was re-read (%d load messages)", n)
	}
}

func TestAListThatBreaksKeepsTheCopyLoadedBefore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "list.txt")
	writeFile(t, path, "192.0.2.1\n", t0)
	e, logs := newEngine(t, reputationConfig(false, path))
	ip := netip.MustParseAddr("192.0.2.1")

	writeFile(t, path, "<html>rate limited</html>\n", t0.Add(1))
	e.watch.poll()
	e.watch.poll()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	e.watch.poll()
	r := evaluate(e, Request{ClientIP: ip})
	if !r.Has(SignalIPReputation) || r.Contributions[0].Unavailable {
		t.Errorf("previous list not kept: %s", r.Reasons())
	}
	if r := evaluate(e, Request{ClientIP: netip.MustParseAddr("192.0.2.2")}); r.N != 0 {
		t.Errorf("a list loaded once is available; unlisted address scored %s", r.Reasons())
	}
	if n := logs.FilterMessage("risk: data file unreadable; keeping the copy loaded before").Len(); n != 1 {
		t.Errorf("%d warnings, want 1 however often it is polled", n)
	}
	if n := logs.FilterMessage("risk: bad line in IP list skipped").Len(); n != 1 {
		t.Errorf("%d bad-line reports, want 1", n)
	}
}

func TestAMissingListFailsOpenOrClosedAndIsLoggedOnce(t *testing.T) {
	listed := netip.MustParseAddr("203.0.113.1")
	tests := []struct {
		name        string
		failOpen    bool
		wantUnknown int // points for an address on no loaded list
	}{
		{"fail closed adds the weight", false, 40},
		{"fail open adds nothing", true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			missing := filepath.Join(dir, "missing.txt")
			present := copyFile(t, filepath.Join("testdata", "firehol_level1.netset"), dir)
			e, logs := newEngine(t, reputationConfig(tt.failOpen, present, missing))
			for range 3 {
				r := evaluate(e, Request{ClientIP: netip.MustParseAddr("8.8.8.8")})
				want := Contribution{Signal: SignalIPReputation, Points: tt.wantUnknown, Unavailable: true}
				if r.N != 1 || r.Contributions[0] != want || r.Score != tt.wantUnknown {
					t.Fatalf("got %s (%+v), want %+v", r.Reasons(), r.Contributions[:r.N], want)
				}
				e.watch.poll()
			}
			// An address on a list that did load is scored as listed.
			if r := evaluate(e, Request{ClientIP: listed}); r.Score != 40 || r.Contributions[0].Unavailable {
				t.Errorf("listed address: %s", r.Reasons())
			}
			if n := logs.FilterMessage("risk: data file unavailable; " + failMode(tt.failOpen, "ip_reputation")).Len(); n != 1 {
				t.Errorf("%d unavailable messages, want exactly 1", n)
			}

			// The file appears: it loads at the next poll and the source is whole.
			writeFile(t, missing, "8.8.8.0/24\n", t0)
			e.watch.poll()
			if r := evaluate(e, Request{ClientIP: netip.MustParseAddr("8.8.4.4")}); r.N != 0 {
				t.Errorf("after the file appeared: %s", r.Reasons())
			}
			if r := evaluate(e, Request{ClientIP: netip.MustParseAddr("8.8.8.8")}); r.Score != 40 {
				t.Errorf("address in the new file: %s", r.Reasons())
			}
			if logs.FilterMessage("risk: data file available again").Len() != 1 {
				t.Error("recovery not logged")
			}
		})
	}
}

func TestAListWithOnlyBadLinesCountsAsUnavailable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "drop.json")
	writeFile(t, path, "<html>\n<body>Not found</body>\n</html>\n", t0)
	e, logs := newEngine(t, reputationConfig(false, path))
	r := evaluate(e, Request{ClientIP: netip.MustParseAddr("192.0.2.1")})
	if r.Score != 40 || !r.Contributions[0].Unavailable {
		t.Errorf("got %s, want the fail-closed weight", r.Reasons())
	}
	if logs.FilterMessage("risk: bad line in IP list skipped").Len() != 3 {
		t.Errorf("bad lines not each reported: %v", logs.All())
	}
}
