package risk

import (
	"net/netip"
	"testing"

	maxminddb "github.com/oschwald/maxminddb-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2/mmdbdata"
)

type prec struct {
	cc       [2]byte
	lat, lon float32
	hasLoc   bool
}

func (p *prec) UnmarshalMaxMindDBCursor(c mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	m, err := c.MapReader()
	if err != nil {
		return c, err
	}
	cur := m.First()
	for range m.Len() {
		var k []byte
		k, cur, err = cur.ReadMapKey()
		if err != nil {
			return c, err
		}
		switch string(k) {
		case "country":
			cur, err = p.country(cur)
		case "location":
			cur, err = p.location(cur)
		default:
			cur, err = cur.Skip()
		}
		if err != nil {
			return c, err
		}
	}
	return m.End(cur)
}

func (p *prec) country(c mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	m, err := c.MapReader()
	if err != nil {
		return c, err
	}
	cur := m.First()
	for range m.Len() {
		var k []byte
		k, cur, err = cur.ReadMapKey()
		if err != nil {
			return c, err
		}
		if string(k) == "iso_code" {
			var s string
			s, cur, err = cur.ReadString()
			if len(s) == 2 {
				p.cc = [2]byte{s[0], s[1]}
			}
		} else {
			cur, err = cur.Skip()
		}
		if err != nil {
			return c, err
		}
	}
	return m.End(cur)
}

func (p *prec) location(c mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	m, err := c.MapReader()
	if err != nil {
		return c, err
	}
	cur := m.First()
	for range m.Len() {
		var k []byte
		k, cur, err = cur.ReadMapKey()
		if err != nil {
			return c, err
		}
		var f float64
		switch string(k) {
		case "latitude":
			f, cur, err = cur.ReadFloat()
			p.lat = float32(f)
			p.hasLoc = true
		case "longitude":
			f, cur, err = cur.ReadFloat()
			p.lon = float32(f)
		default:
			cur, err = cur.Skip()
		}
		if err != nil {
			return c, err
		}
	}
	return m.End(cur)
}

func BenchmarkProto(b *testing.B) {
	db, err := maxminddb.Open("../../../shared/testdata/maxmind/GeoIP2-City-Test.mmdb")
	if err != nil {
		b.Fatal(err)
	}
	ip := netip.MustParseAddr("81.2.69.142")
	var p prec
	if err := db.Lookup(ip).Decode(&p); err != nil {
		b.Fatal(err)
	}
	b.Logf("%+v %s", p, p.cc)
	b.ReportAllocs()
	for b.Loop() {
		var p prec
		if err := db.Lookup(ip).Decode(&p); err != nil {
			b.Fatal(err)
		}
	}
}
func BenchmarkProtoOffset(b *testing.B) {
	db, err := maxminddb.Open("../../../shared/testdata/maxmind/GeoIP2-City-Test.mmdb")
	if err != nil {
		b.Fatal(err)
	}
	ip := netip.MustParseAddr("81.2.69.142")
	b.ReportAllocs()
	for b.Loop() {
		_ = db.Lookup(ip).Offset()
	}
}
