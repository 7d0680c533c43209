package risk

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap"
)

// allSignals turns every signal on, with the test data.
func allSignals(t testing.TB) *Config {
	loc := locationConfig(t)
	loc.DenyCountries = []string{"KP"}
	return &Config{
		IPReputation: &IPReputationConfig{Files: []string{
			filepath.Join("testdata", "firehol_level1.netset"),
			filepath.Join("testdata", "drop.txt"),
			filepath.Join("testdata", "dropv6.txt"),
		}, Weight: 40},
		Location:  loc,
		Frequency: &FrequencyConfig{Limit: 1000, IPLimit: 1000},
		NewDevice: &NewDeviceConfig{Weight: 30},
	}
}

func TestTheScoreIsTheClampedSumOfTheContributions(t *testing.T) {
	e, _ := newEngine(t, allSignals(t))
	login := e.Record(&Request{Now: t0, ClientIP: london, Device: 1})
	// Milton is on the FireHOL fixture, in another country, an hour's
	// flight away at 7,700 km/h, on another device: 40+30+70+30 = 170.
	r := evaluate(e, Request{Now: t0.Add(time.Hour), ClientIP: milton, SessionKey: 9, HasLogin: true, Login: login, Device: 2})
	if r.Score != 100 {
		t.Errorf("score %d, want 100 (clamped)", r.Score)
	}
	if got, want := r.Reasons(), "ip_reputation=40 country_change=30 impossible_travel=70 new_device=30"; got != want {
		t.Errorf("reasons %q, want %q", got, want)
	}
	same := evaluate(e, Request{Now: t0.Add(time.Hour), ClientIP: london, SessionKey: 9, HasLogin: true, Login: login, Device: 1})
	if same.Score != 0 || same.Reasons() != "" {
		t.Errorf("the login's own context scored %d (%s)", same.Score, same.Reasons())
	}
}

func TestEvaluateAllocatesNothingOnceWarm(t *testing.T) {
	e, _ := newEngine(t, allSignals(t))
	login := e.Record(&Request{Now: t0, ClientIP: london, Device: 1})
	reqs := []Request{
		{Now: t0, ClientIP: milton, SessionKey: 1, HasLogin: true, Login: login, Device: 2},
		{Now: t0, ClientIP: tokyo6, SessionKey: 2, HasLogin: true, Login: login, Device: 1},
		{Now: t0, ClientIP: private},
	}
	var out Result
	for i := range reqs { // warm the location caches
		e.Evaluate(&reqs[i], &out)
	}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		e.Evaluate(&reqs[i%len(reqs)], &out)
		i++
	})
	if allocs != 0 {
		t.Errorf("Evaluate allocates %.1f times per call, want 0", allocs)
	}
}

func TestNewRejectsAnInvalidConfig(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := New(ctx, &Config{}, zap.NewNop(), time.Now); err == nil || err.Error() != "risk: no signal configured; add ip_reputation, location, frequency or new_device" {
		t.Errorf("err = %v", err)
	}
}

// The engine needs no Caddy: a nil context leaves the poller's end to Close.
func TestAnEngineWithoutAContextStopsItsPollerOnClose(t *testing.T) {
	//lint:ignore SA1012 a nil ctx is part of New's contract
	e, err := New(nil, reputationConfig(true, filepath.Join("testdata", "plain.txt")), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := evaluate(e, Request{ClientIP: netip.MustParseAddr("192.0.2.1")}); r.Score != 40 {
		t.Errorf("the listed address should score 40: %s", r.Reasons())
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-e.stop:
	default:
		t.Fatal("Close did not stop the poller")
	}
}

func TestThePollerStopsWithTheContextOrClose(t *testing.T) {
	c := reputationConfig(true, filepath.Join("testdata", "plain.txt"))
	ctx, cancel := context.WithCancel(context.Background())
	e, err := New(ctx, c, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-e.stop:
	case <-time.After(10 * time.Second):
		t.Fatal("the poller outlived its context")
	}
	if err := e.Close(); err != nil { // a second stop is harmless
		t.Fatal(err)
	}
	if r := evaluate(e, Request{ClientIP: netip.MustParseAddr("192.0.2.1")}); r.Score != 40 {
		t.Errorf("after Close, the loaded data should still answer: %s", r.Reasons())
	}
}

func TestSignalNamesAreStable(t *testing.T) {
	want := []string{"ip_reputation", "country_denied", "country_change", "asn_change", "impossible_travel",
		"frequency_ip", "frequency_session", "new_device"}
	for i, name := range want {
		if got := Signal(i).String(); got != name {
			t.Errorf("Signal(%d) = %s, want %s", i, got, name)
		}
	}
	if MaxSignals != len(want) || Signal(MaxSignals).String() != "signal_8" {
		t.Errorf("MaxSignals = %d", MaxSignals)
	}
}

func ExampleResult_Reasons() {
	var r Result
	r.add(SignalIPReputation, 40, false)
	r.add(SignalCountryChange, 30, true)
	fmt.Println(r.Reasons())
	// Output: ip_reputation=40 country_change=30(unavailable)
}

// Run with -race: evaluations go on while lists and databases reload.
func TestEvaluatingWhileFilesReloadIsSafe(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "list.txt")
	writeFile(t, list, "192.0.2.0/24\n", t0)
	city := testDBs(t).City
	db := copyFile(t, city, dir)
	c := allSignals(t)
	c.IPReputation.Files = []string{list}
	c.Location.CountryDB = db
	e, _ := newEngine(t, c)
	login := e.Record(&Request{Now: t0, ClientIP: london})
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			var out Result
			for i := range 2000 {
				req := Request{Now: t0.Add(time.Duration(i) * time.Second), ClientIP: []netip.Addr{milton, london, tokyo6}[i%3],
					SessionKey: uint64(g), HasLogin: true, Login: login}
				e.Evaluate(&req, &out)
				if out.Score < 0 || out.Score > 100 {
					t.Errorf("score %d", out.Score)
					return
				}
			}
		}()
	}
	for i := range 20 {
		writeFile(t, list, fmt.Sprintf("192.0.%d.0/24\n", i), t0.Add(time.Duration(i+1)*time.Second))
		tmp := copyFile(t, city, t.TempDir())
		if err := os.Chtimes(tmp, t0.Add(time.Duration(i+1)*time.Second), t0.Add(time.Duration(i+1)*time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := renameOver(tmp, db); err != nil {
			t.Fatal(err)
		}
		e.watch.poll()
	}
	for range 4 {
		<-done
	}
}

func TestNewDeviceDoesNotFireWhenTheLoginRecordedNoDevice(t *testing.T) {
	e, _ := newEngine(t, &Config{NewDevice: &NewDeviceConfig{Weight: 30}})
	none := e.Record(&Request{Now: t0, ClientIP: london}) // no device cookie at login
	for _, device := range []uint64{0, 7} {
		r := evaluate(e, Request{Now: t0, ClientIP: london, SessionKey: 1, HasLogin: true, Login: none, Device: device})
		if r.Score != 0 {
			t.Errorf("device %d against a login with no device: score %d (%s), want 0", device, r.Score, r.Reasons())
		}
	}
	known := e.Record(&Request{Now: t0, ClientIP: london, Device: 7})
	if r := evaluate(e, Request{Now: t0, ClientIP: london, SessionKey: 1, HasLogin: true, Login: known, Device: 8}); r.Reasons() != "new_device=30" {
		t.Errorf("another device than the recorded one: %q, want new_device=30", r.Reasons())
	}
}
