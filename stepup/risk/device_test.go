package risk

import (
	"testing"
)

const ua = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"

func TestDeviceHashIdentifiesCookieAndBrowser(t *testing.T) {
	base := DeviceHash("AAAAAAAAAAAAAAAAAAAAAA", ua, `"Linux"`)
	if base == 0 {
		t.Fatal("a device with a cookie hashed to 0")
	}
	// Stable across processes and replicas: a fixed value, no seed.
	if again := DeviceHash("AAAAAAAAAAAAAAAAAAAAAA", ua, `"Linux"`); again != base {
		t.Fatal("not deterministic")
	}
	// FNV-1a 64 over the length-prefixed fields, computed outside Go.
	if got, want := DeviceHash("c", "u", "p"), uint64(0xfa8e54595b01bb76); got != want {
		t.Errorf("DeviceHash(c, u, p) = %#x, want %#x: the hash changed, and with it every recorded device", got, want)
	}
	others := map[string]uint64{
		"another cookie":            DeviceHash("BAAAAAAAAAAAAAAAAAAAAA", ua, `"Linux"`),
		"another browser":           DeviceHash("AAAAAAAAAAAAAAAAAAAAAA", ua+" Edg/140.0", `"Linux"`),
		"another platform":          DeviceHash("AAAAAAAAAAAAAAAAAAAAAA", ua, `"Windows"`),
		"bytes moved across fields": DeviceHash("AAAAAAAAAAAAAAAAAAAAAAM", ua[1:], `"Linux"`),
	}
	for name, h := range others {
		if h == base {
			t.Errorf("%s hashes like the original", name)
		}
	}
	if DeviceHash("", ua, `"Linux"`) != 0 {
		t.Error("no cookie must hash to 0")
	}
}

func TestNewDeviceIDsAreRandomBase64URL(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewDeviceID()
		if !ValidDeviceID(id) {
			t.Fatalf("%q is not a valid device id", id)
		}
		if seen[id] {
			t.Fatalf("%q repeated", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "short", "AAAAAAAAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAAAAAAAA/", "AAAAAAAAAAAAAAAAAAAAAAA"} {
		if ValidDeviceID(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestANewDeviceScoresOnlyAgainstALogin(t *testing.T) {
	e, _ := newEngine(t, &Config{NewDevice: &NewDeviceConfig{Weight: 45}})
	known := DeviceHash("AAAAAAAAAAAAAAAAAAAAAA", ua, "")
	tests := []struct {
		name     string
		hasLogin bool
		login    uint64
		device   uint64
		points   int
	}{
		{"the device of the login", true, known, known, 0},
		{"another device", true, known, DeviceHash("BAAAAAAAAAAAAAAAAAAAAA", ua, ""), 45},
		{"the device cookie was dropped", true, known, 0, 45},
		{"no device at login and none now", true, 0, 0, 0},
		{"no login to compare with", false, 0, known, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := evaluate(e, Request{Now: t0, HasLogin: tt.hasLogin, Login: Recorded{Device: tt.login}, Device: tt.device})
			if r.Score != tt.points {
				t.Errorf("score %d (%s), want %d", r.Score, r.Reasons(), tt.points)
			}
		})
	}
}
