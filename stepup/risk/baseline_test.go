package risk

import (
	"bytes"
	"math"
	"testing"
)

// sameRecorded compares coordinates by bit pattern: NaN is a value here.
func sameRecorded(a, b Recorded) bool {
	return a.Country == b.Country && a.ASN == b.ASN && a.Device == b.Device && a.Radius == b.Radius && a.At == b.At &&
		math.Float32bits(a.Lat) == math.Float32bits(b.Lat) && math.Float32bits(a.Lon) == math.Float32bits(b.Lon)
}

func TestABaselineRoundTripsAndLeavesWhatFollowsIt(t *testing.T) {
	cases := map[string]Recorded{
		"unknown":   {},
		"realistic": {Country: [2]byte{'G', 'B'}, ASN: 64512, Device: 0xdeadbeefcafe, Lat: 51.5142, Lon: -0.0931, Radius: 100, At: 1_800_000_000},
		"widest": {Country: [2]byte{0xff, 0xff}, ASN: math.MaxUint32, Device: math.MaxUint64,
			Lat: float32(math.NaN()), Lon: float32(math.Inf(-1)), Radius: math.MaxUint16, At: maxAt},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			raw, _ := in.AppendBinary([]byte("prefix"))
			if !bytes.HasPrefix(raw, []byte("prefix")) {
				t.Fatalf("AppendBinary lost what b held: %q", raw)
			}
			out, rest, err := ReadRecorded(append(raw[len("prefix"):], "next"...))
			if err != nil {
				t.Fatal(err)
			}
			if !sameRecorded(in, out) {
				t.Fatalf("round trip changed the baseline:\n in  %+v\n out %+v", in, out)
			}
			if string(rest) != "next" {
				t.Fatalf("rest = %q, want the bytes after the baseline", rest)
			}
		})
	}
}

func TestATruncatedBaselineIsRefusedAtEveryLength(t *testing.T) {
	raw, _ := Recorded{Country: [2]byte{'D', 'E'}, ASN: 4_200_000_000, Device: 1, Lat: 1, Lon: 1, Radius: 1000, At: 1_800_000_000}.AppendBinary(nil)
	for n := range len(raw) {
		if r, _, err := ReadRecorded(raw[:n]); err == nil {
			t.Errorf("accepted the first %d of %d bytes as %+v", n, len(raw), r)
		}
	}
	overlong := append([]byte{'D', 'E'}, bytes.Repeat([]byte{0x80}, 10)...)
	if _, _, err := ReadRecorded(append(overlong, 1)); err == nil {
		t.Error("accepted a uvarint ASN longer than 64 bits")
	}
}

// Numbers wider than their field (only a hand-made cookie has them) are
// clamped, so a decoded baseline always encodes again.
func TestABaselineClampsNumbersWiderThanTheirField(t *testing.T) {
	raw := []byte{'F', 'R'}
	raw = append(raw, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01) // ASN 2^40-1
	raw = append(raw, make([]byte, 16)...)
	raw = append(raw, 0xff, 0xff, 0xff, 0x01)                         // radius 2^28-1
	raw = append(raw, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01) // at 2^56-1
	r, rest, err := ReadRecorded(raw)
	if err != nil || len(rest) != 0 {
		t.Fatalf("err %v, %d bytes left", err, len(rest))
	}
	if r.ASN != math.MaxUint32 || r.Radius != math.MaxUint16 || r.At != maxAt {
		t.Fatalf("not clamped: %+v", r)
	}
}

// FuzzReadRecorded: a baseline read from arbitrary bytes never panics, what
// it leaves is the input's tail, and whatever decodes is a baseline we could
// have written, which encodes to a fixed point.
func FuzzReadRecorded(f *testing.F) {
	good, _ := Recorded{Country: [2]byte{'D', 'E'}, ASN: 3320, Device: 0x0123456789abcdef, Lat: 52.52, Lon: 13.405, Radius: 20, At: 1_800_000_000}.AppendBinary(nil)
	f.Add(good)
	f.Add(append(bytes.Clone(good), "trailing"...))
	f.Add(good[:len(good)-1])
	f.Add([]byte{})
	f.Add(append([]byte{'X', 'X'}, bytes.Repeat([]byte{0x80}, 11)...))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, rest, err := ReadRecorded(data)
		if err != nil {
			return
		}
		if !bytes.HasSuffix(data, rest) {
			t.Fatalf("rest %x is not a tail of the input %x", rest, data)
		}
		if r.At < 0 || r.At > maxAt {
			t.Fatalf("login time %d outside 0..2^40", r.At)
		}
		canonical, _ := r.AppendBinary(nil)
		again, tail, err := ReadRecorded(canonical)
		if err != nil || len(tail) != 0 {
			t.Fatalf("a decoded baseline does not decode again: %v, %d bytes left", err, len(tail))
		}
		if !sameRecorded(r, again) {
			t.Fatalf("decode(encode(r)) differs:\n %+v\n %+v", r, again)
		}
		if b, _ := again.AppendBinary(nil); !bytes.Equal(b, canonical) {
			t.Fatalf("encoding is not a fixed point:\n %x\n %x", canonical, b)
		}
	})
}
