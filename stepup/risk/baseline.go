package risk

import (
	"encoding/binary"
	"errors"
	"math"
)

// The baseline travels inside the session cookie (every replica compares
// against the same values), so its layout is part of that cookie's format:
// country (2 bytes), ASN (uvarint), device hash (8 bytes, big-endian),
// latitude and longitude (float32 bits, big-endian), accuracy radius and
// login time (uvarints). Changing it needs a new session codec version.

// maxAt bounds a decoded login time, as the session codec bounds its own
// times: 2^40 unix seconds is far past any real login.
const maxAt = 1 << 40

var errBaselineFormat = errors.New("risk: malformed login baseline")

// AppendBinary appends r's binary layout to b. It never fails; the error is
// there to satisfy encoding.BinaryAppender.
func (r Recorded) AppendBinary(b []byte) ([]byte, error) {
	b = append(b, r.Country[0], r.Country[1])
	b = binary.AppendUvarint(b, uint64(r.ASN))
	b = binary.BigEndian.AppendUint64(b, r.Device)
	b = binary.BigEndian.AppendUint32(b, math.Float32bits(r.Lat))
	b = binary.BigEndian.AppendUint32(b, math.Float32bits(r.Lon))
	b = binary.AppendUvarint(b, uint64(r.Radius))
	return binary.AppendUvarint(b, uint64(max(r.At, 0))), nil
}

// ReadRecorded reads one baseline from the front of b and returns it with
// the bytes that follow it. It never panics on hostile input (it is fuzzed);
// numbers wider than their field are clamped, not refused, so that whatever
// decodes encodes again.
func ReadRecorded(b []byte) (Recorded, []byte, error) {
	var r Recorded
	if len(b) < 2 {
		return Recorded{}, nil, errBaselineFormat
	}
	r.Country[0], r.Country[1] = b[0], b[1]
	b = b[2:]
	asn, b, ok := uvarint(b)
	if !ok || len(b) < 16 {
		return Recorded{}, nil, errBaselineFormat
	}
	r.ASN = uint32(min(asn, math.MaxUint32))
	r.Device = binary.BigEndian.Uint64(b)
	r.Lat = math.Float32frombits(binary.BigEndian.Uint32(b[8:]))
	r.Lon = math.Float32frombits(binary.BigEndian.Uint32(b[12:]))
	radius, b, ok := uvarint(b[16:])
	if !ok {
		return Recorded{}, nil, errBaselineFormat
	}
	at, b, ok := uvarint(b)
	if !ok {
		return Recorded{}, nil, errBaselineFormat
	}
	r.Radius = uint16(min(radius, math.MaxUint16))
	r.At = int64(min(at, maxAt))
	return r, b, nil
}

// uvarint reads one uvarint from the front of b.
func uvarint(b []byte) (uint64, []byte, bool) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, false
	}
	return v, b[n:], true
}
