package session

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/risk"
)

// FuzzSessionDecode feeds arbitrary bytes to the session codec, as a client
// holding the key never could but a bug in the sealer would: decoding never
// panics, and whatever decodes is a session we could have written ourselves,
// which re-encodes to a fixed point.
func FuzzSessionDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := unmarshal(data)
		if err != nil {
			if s != nil {
				t.Fatalf("error %v with a non-nil session", err)
			}
			return
		}
		if s.Subject == "" || len(s.Subject) > MaxClaimLen || len(s.ACR) > MaxClaimLen ||
			len(s.LoginRule) > MaxClaimLen || len(s.AMR) > MaxAMR {
			t.Fatalf("decoded a session outside the codec's bounds: %+v", s)
		}
		canonical, err := marshal(s)
		if err != nil {
			t.Fatalf("a decoded session does not encode again: %v (%+v)", err, s)
		}
		again, err := unmarshal(canonical)
		if err != nil {
			t.Fatalf("re-encoded session does not decode: %v", err)
		}
		if diff := sessionDiff(s, again); diff != "" {
			t.Fatalf("decode(encode(s)) differs from s: %s", diff)
		}
		if b, _ := marshal(again); !bytes.Equal(b, canonical) {
			t.Fatalf("encoding is not a fixed point:\n %x\n %x", canonical, b)
		}
	})
}

// FuzzSessionEncode builds sessions from arbitrary claims within the codec's
// contract (times zero or 1..2^40 unix seconds) and checks that every session
// marshal accepts decodes to the same session, and still fits in a
// cookie the sealer will open.
func FuzzSessionEncode(f *testing.F) {
	f.Fuzz(func(t *testing.T, subject, acr, amr, rule string, expires, authTime, issued int64, fresh, hasLogin bool,
		country string, asn uint32, device uint64, lat, lon uint32, radius uint16, at int64) {
		in := &Session{
			Subject: subject, ACR: acr, LoginRule: rule, FreshSpent: fresh,
			Expires: contractTime(expires), AuthTime: contractTime(authTime), Issued: contractTime(issued),
		}
		if amr != "" {
			in.AMR = strings.Split(amr, ",")
		}
		if hasLogin {
			in.HasLogin = true
			in.Login = risk.Recorded{
				ASN: asn, Device: device, Radius: radius,
				Lat: math.Float32frombits(lat), Lon: math.Float32frombits(lon),
				At: int64(uint64(at) % (1<<40 + 1)),
			}
			copy(in.Login.Country[:], country)
		}
		raw, err := marshal(in)
		if err != nil {
			if subject != "" && len(subject) <= MaxClaimLen && len(acr) <= MaxClaimLen && len(rule) <= MaxClaimLen &&
				len(in.AMR) <= MaxAMR && !slices.ContainsFunc(in.AMR, func(m string) bool { return len(m) > MaxClaimLen }) {
				t.Fatalf("refused a session within bounds: %v", err)
			}
			return
		}
		out, err := unmarshal(raw)
		if err != nil {
			t.Fatalf("encoded session does not decode: %v\n%x", err, raw)
		}
		if diff := sessionDiff(in, out); diff != "" {
			t.Fatalf("round trip changed the session: %s", diff)
		}
		if n := base64.RawURLEncoding.EncodedLen(keyIDLen + nonceLen + len(raw) + tagLen); n > MaxSealedLen {
			t.Fatalf("a session we write seals to %d bytes, more than the %d open accepts", n, MaxSealedLen)
		}
	})
}

// contractTime maps any int64 onto what the codec promises to keep: the zero
// time, or whole unix seconds from 1 to 2^40.
func contractTime(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(int64(uint64(v)%(1<<40))+1, 0)
}

// sessionDiff compares two sessions field by field: times by instant, AMR with
// nil and empty alike, coordinates by bit pattern (NaN is a value here).
func sessionDiff(a, b *Session) string {
	var d []string
	add := func(field string, x, y any) { d = append(d, fmt.Sprintf("%s: %#v != %#v", field, x, y)) }
	if a.Subject != b.Subject {
		add("Subject", a.Subject, b.Subject)
	}
	if a.ACR != b.ACR {
		add("ACR", a.ACR, b.ACR)
	}
	if !slices.Equal(a.AMR, b.AMR) {
		add("AMR", a.AMR, b.AMR)
	}
	for _, p := range []struct {
		name string
		x, y time.Time
	}{{"AuthTime", a.AuthTime, b.AuthTime}, {"Issued", a.Issued, b.Issued}, {"Expires", a.Expires, b.Expires}} {
		if !p.x.Equal(p.y) || p.x.IsZero() != p.y.IsZero() {
			add(p.name, p.x, p.y)
		}
	}
	if a.LoginRule != b.LoginRule {
		add("LoginRule", a.LoginRule, b.LoginRule)
	}
	if a.FreshSpent != b.FreshSpent {
		add("FreshSpent", a.FreshSpent, b.FreshSpent)
	}
	if a.HasLogin != b.HasLogin {
		add("HasLogin", a.HasLogin, b.HasLogin)
	}
	x, y := a.Login, b.Login
	if x.Country != y.Country || x.ASN != y.ASN || x.Device != y.Device || x.Radius != y.Radius || x.At != y.At ||
		math.Float32bits(x.Lat) != math.Float32bits(y.Lat) || math.Float32bits(x.Lon) != math.Float32bits(y.Lon) {
		add("Login", x, y)
	}
	return strings.Join(d, "; ")
}

func sessionSeeds() map[string]*Session {
	now := fuzzEpoch
	return map[string]*Session{
		"basic": {
			Subject: "alice", ACR: "urn:pwd", AMR: []string{"pwd"},
			AuthTime: now.Add(-time.Minute), Issued: now, Expires: now.Add(12 * time.Hour),
		},
		"step-up-with-risk-baseline": {
			Subject: "248289761001", ACR: "urn:otp", AMR: []string{"pwd", "otp", "hwk"},
			AuthTime: now, Issued: now, Expires: now.Add(time.Hour), LoginRule: "admin", FreshSpent: true,
			HasLogin: true, Login: risk.Recorded{Country: [2]byte{'D', 'E'}, ASN: 3320, Device: 0x0123456789abcdef,
				Lat: 52.52, Lon: 13.405, Radius: 20, At: now.Unix()},
		},
		"longest": {
			Subject: strings.Repeat("s", MaxClaimLen), ACR: strings.Repeat("a", MaxClaimLen),
			AMR:       slices.Repeat([]string{strings.Repeat("m", MaxClaimLen)}, MaxAMR),
			LoginRule: strings.Repeat("r", MaxClaimLen), Expires: time.Unix(1<<40, 0),
			HasLogin: true, Login: risk.Recorded{Country: [2]byte{0xff, 0xff}, ASN: math.MaxUint32, Device: math.MaxUint64,
				Lat: float32(math.NaN()), Lon: float32(math.Inf(-1)), Radius: math.MaxUint16, At: 1 << 40},
		},
		"no-times": {Subject: "bob"},
	}
}

func sessionDecodeSeeds(t *testing.T) []fuzzSeed {
	var seeds []fuzzSeed
	var basic []byte
	for name, s := range sessionSeeds() {
		raw, err := marshal(s)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if name == "basic" {
			basic = raw
		}
		seeds = append(seeds, fuzzSeed{"valid-" + name, []any{raw}})
	}
	seeds = append(seeds,
		fuzzSeed{"empty", []any{[]byte{}}},
		fuzzSeed{"wrong-version", []any{append([]byte{sessionCodecVersion + 1}, basic[1:]...)}},
		fuzzSeed{"truncated", []any{basic[:len(basic)-2]}},
		fuzzSeed{"trailing-byte", []any{append(slices.Clone(basic), 0)}},
		fuzzSeed{"unknown-flag", []any{append(slices.Clone(basic[:len(basic)-1]), 0x80)}},
		fuzzSeed{"risk-flag-without-baseline", []any{append(slices.Clone(basic[:len(basic)-1]), flagRiskLogin)}},
		fuzzSeed{"huge-length", []any{[]byte{sessionCodecVersion, 1, 1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f}}},
		fuzzSeed{"overlong-varint", []any{[]byte{sessionCodecVersion, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}}},
		fuzzSeed{"time-beyond-2^40", []any{[]byte{sessionCodecVersion, 0x81, 0x80, 0x80, 0x80, 0x80, 0x20, 0, 0, 1, 'x', 0, 0, 0, 0}}},
	)
	return seeds
}

func sessionDecodeAccepts(t *testing.T, args []any) bool {
	_, err := unmarshal(args[0].([]byte))
	return err == nil
}

func sessionEncodeSeeds(t *testing.T) []fuzzSeed {
	now := fuzzEpoch.Unix()
	return []fuzzSeed{
		{"basic", []any{"alice", "urn:pwd", "pwd", "", now + 3600, now, now, false, false, "", uint32(0), uint64(0), uint32(0), uint32(0), uint16(0), int64(0)}},
		{"step-up-with-risk-baseline", []any{"alice", "urn:otp", "pwd,otp", "admin", now + 3600, now, now, true, true,
			"DE", uint32(3320), uint64(0x0123456789abcdef), math.Float32bits(52.52), math.Float32bits(13.405), uint16(20), now}},
		{"no-subject", []any{"", "urn:otp", "", "", int64(0), int64(0), int64(0), false, false, "", uint32(0), uint64(0), uint32(0), uint32(0), uint16(0), int64(0)}},
		{"too-many-amr", []any{"alice", "", "a,b,c,d,e,f,g,h,i", "", int64(-1), int64(1 << 41), int64(1), false, true,
			"\xff", uint32(1), uint64(1), uint32(0x7fc00001), uint32(0xff800000), uint16(1), int64(-1)}},
	}
}
