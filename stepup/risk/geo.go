package risk

import (
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"

	maxminddb "github.com/oschwald/maxminddb-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2/mmdbdata"
)

// geoCacheSize is the number of decoded records kept per database, in a
// direct-mapped table indexed by the record's offset. Lookups that hit it
// decode nothing and allocate nothing. 16384 × 8-byte pointers = 128 KiB,
// plus 32 bytes per cached record.
const (
	geoCacheBits = 14
	geoCacheSize = 1 << geoCacheBits
)

// geoRecord is the part of a MaxMind record the signals use.
type geoRecord struct {
	offset  uintptr
	country [2]byte
	hasLoc  bool
	lat     float32
	lon     float32
	radius  uint16 // accuracy radius, km
	asn     uint32
}

// geoDB is one loaded MaxMind database. It is immutable but for its cache,
// and is replaced as a whole when the file changes.
type geoDB struct {
	reader *maxminddb.Reader
	kind   string // the database_type metadata, e.g. GeoIP2-City
	city   bool   // has coordinates
	cache  [geoCacheSize]atomic.Pointer[geoRecord]
}

// openGeoDB reads a database into memory. It does not memory-map the file:
// a file rewritten or truncated in place while mapped can crash the
// process, and memory-mapped readers cannot be swapped safely under
// concurrent lookups. want is "country" or "asn".
func openGeoDB(path, want string) (*geoDB, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := maxminddb.OpenBytes(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	kind := r.Metadata.DatabaseType
	ok := false
	switch want {
	case "country":
		ok = strings.Contains(kind, "City") || strings.Contains(kind, "Country") || strings.Contains(kind, "Enterprise")
	case "asn":
		ok = strings.Contains(kind, "ASN") || strings.Contains(kind, "ISP")
	}
	if !ok {
		return nil, fmt.Errorf("%s: database type %q has no %s data", path, kind, want)
	}
	return &geoDB{reader: r, kind: kind, city: strings.Contains(kind, "City") || strings.Contains(kind, "Enterprise")}, nil
}

// lookup returns the record for ip, or nil when the database has none.
// A cached record allocates nothing; a miss decodes and caches it.
func (g *geoDB) lookup(ip netip.Addr) (*geoRecord, error) {
	if !ip.IsValid() {
		return nil, nil
	}
	res := g.reader.Lookup(ip)
	if err := res.Err(); err != nil {
		return nil, err
	}
	if !res.Found() {
		return nil, nil
	}
	off := res.Offset()
	slot := &g.cache[(uint64(off)*0x9E3779B97F4A7C15)>>(64-geoCacheBits)]
	if rec := slot.Load(); rec != nil && rec.offset == off {
		return rec, nil
	}
	rec := &geoRecord{offset: off}
	if err := res.Decode(rec); err != nil {
		return nil, err
	}
	slot.Store(rec)
	return rec, nil
}

// UnmarshalMaxMindDBCursor decodes the fields we use from a City, Country,
// ASN or ISP record and skips the rest: country.iso_code (else
// registered_country.iso_code), location.latitude/longitude/accuracy_radius
// and autonomous_system_number.
func (g *geoRecord) UnmarshalMaxMindDBCursor(c mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	var registered [2]byte
	next, err := eachKey(c, func(key []byte, v mmdbdata.Cursor) (mmdbdata.Cursor, error) {
		switch string(key) {
		case "country":
			return readISOCode(v, &g.country)
		case "registered_country":
			return readISOCode(v, &registered)
		case "location":
			return g.readLocation(v)
		case "autonomous_system_number":
			n, next, err := v.ReadUint()
			g.asn = uint32(min(n, 1<<32-1))
			return next, err
		}
		return v.Skip()
	})
	if g.country == ([2]byte{}) {
		g.country = registered
	}
	return next, err
}

func readISOCode(c mmdbdata.Cursor, dst *[2]byte) (mmdbdata.Cursor, error) {
	return eachKey(c, func(key []byte, v mmdbdata.Cursor) (mmdbdata.Cursor, error) {
		if string(key) != "iso_code" {
			return v.Skip()
		}
		s, next, err := v.ReadString()
		if err == nil && len(s) == 2 {
			*dst = [2]byte{s[0], s[1]}
		}
		return next, err
	})
}

func (g *geoRecord) readLocation(c mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	var haveLat, haveLon bool
	next, err := eachKey(c, func(key []byte, v mmdbdata.Cursor) (mmdbdata.Cursor, error) {
		switch string(key) {
		case "latitude":
			f, next, err := v.ReadFloat()
			g.lat, haveLat = float32(f), err == nil
			return next, err
		case "longitude":
			f, next, err := v.ReadFloat()
			g.lon, haveLon = float32(f), err == nil
			return next, err
		case "accuracy_radius":
			n, next, err := v.ReadUint()
			g.radius = uint16(min(n, 1<<16-1))
			return next, err
		}
		return v.Skip()
	})
	g.hasLoc = haveLat && haveLon
	return next, err
}

// eachKey walks a map value, handing each key and value cursor to f, which
// returns the cursor after the value.
func eachKey(c mmdbdata.Cursor, f func(key []byte, v mmdbdata.Cursor) (mmdbdata.Cursor, error)) (mmdbdata.Cursor, error) {
	m, err := c.MapReader()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	cur := m.First()
	for range m.Len() {
		key, v, err := cur.ReadMapKey()
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
		if cur, err = f(key, v); err != nil {
			return mmdbdata.Cursor{}, err
		}
	}
	return m.End(cur)
}

// Interface guards
var _ mmdbdata.CursorUnmarshaler = (*geoRecord)(nil)
