package risk

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync/atomic"

	maxminddb "github.com/oschwald/maxminddb-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2/mmdbdata"
)

// geoCacheSize is the size of each of a database's two direct-mapped
// caches: addresses looked up (address → record, 32 bytes an entry), which
// skip the search tree, and decoded records (by the record's offset, 32
// bytes a record), which skip decoding for a new address whose record is
// already known. Each table is 16384 × 8-byte pointers = 128 KiB.
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

	// byAddr answers an address seen recently without walking the search
	// tree. A session keeps its address from request to request, and in a
	// full-size database the walk is a chain of dependent reads across tens
	// of megabytes, most of them cache misses under load.
	byAddr [geoCacheSize]atomic.Pointer[addrEntry]
}

// addrEntry is one address's answer; rec is nil when the database does not
// know the address.
type addrEntry struct {
	addr netip.Addr
	rec  *geoRecord
}

// addrSlot spreads addresses over the byAddr table. Colliding addresses
// only evict each other: the cost is a tree walk, never a wrong answer,
// since an entry answers only its own address.
func addrSlot(ip netip.Addr) uint64 {
	b := ip.As16()
	x := binary.LittleEndian.Uint64(b[:8]) ^ binary.LittleEndian.Uint64(b[8:])*0x9E3779B97F4A7C15
	x ^= x >> 32
	x *= 0xD6E8FEB86659FD93
	x ^= x >> 32
	return x >> (64 - geoCacheBits)
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

// lookup returns the record for ip, or nil when the database has none. An
// address looked up recently costs one table read and allocates nothing;
// otherwise the tree is walked and the answer kept (errors are not).
func (g *geoDB) lookup(ip netip.Addr) (*geoRecord, error) {
	if !ip.IsValid() {
		return nil, nil
	}
	slot := &g.byAddr[addrSlot(ip)]
	if e := slot.Load(); e != nil && e.addr == ip {
		return e.rec, nil
	}
	rec, err := g.walk(ip)
	if err != nil {
		return nil, err
	}
	slot.Store(&addrEntry{addr: ip, rec: rec})
	return rec, nil
}

// walk finds ip's record in the search tree, decoding it unless a record
// at the same offset (another address of the same network) is cached.
func (g *geoDB) walk(ip netip.Addr) (*geoRecord, error) {
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
