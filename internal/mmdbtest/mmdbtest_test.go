package mmdbtest

import (
	"net/netip"
	"testing"

	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// cityRecord is the part of a City or Country record the tests check.
type cityRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	Registered struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
	City struct {
		Names map[string]string `maxminddb:"names"`
	} `maxminddb:"city"`
	Location *struct {
		Lat    float64 `maxminddb:"latitude"`
		Lon    float64 `maxminddb:"longitude"`
		Radius uint16  `maxminddb:"accuracy_radius"`
	} `maxminddb:"location"`
}

type asnRecord struct {
	ASN uint32 `maxminddb:"autonomous_system_number"`
	Org string `maxminddb:"autonomous_system_organization"`
}

type anonRecord struct {
	Anonymous bool `maxminddb:"is_anonymous"`
	VPN       bool `maxminddb:"is_anonymous_vpn"`
	Hosting   bool `maxminddb:"is_hosting_provider"`
	Tor       bool `maxminddb:"is_tor_exit_node"`
}

func open(t *testing.T, path string, kind Kind) *maxminddb.Reader {
	t.Helper()
	r, err := maxminddb.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { r.Close() })
	if r.Metadata.DatabaseType != string(kind) {
		t.Fatalf("%s: database_type %q, want %q", path, r.Metadata.DatabaseType, kind)
	}
	if err := r.Verify(); err != nil {
		t.Fatalf("%s does not verify: %v", path, err)
	}
	return r
}

// lookup decodes addr's record into v and reports whether there is one.
func lookup(t *testing.T, r *maxminddb.Reader, addr string, v any) bool {
	t.Helper()
	res := r.Lookup(netip.MustParseAddr(addr))
	if err := res.Decode(v); err != nil {
		t.Fatalf("%s: %v", addr, err)
	}
	return res.Found()
}

// The named addresses say in the databases what their comments say.
func TestTheNamedAddressesAreWhereTheirNamesSay(t *testing.T) {
	p, err := WriteAll(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	city, country, asn := open(t, p.City, City), open(t, p.Country, Country), open(t, p.ASN, ASN)
	tests := []struct {
		addr            string
		country, cityEN string
		lat, lon        float64
		radius          uint16
		asn             uint32
		registered      string
	}{
		{London, "GB", "London", 51.5142, -0.0931, 10, 0, "GB"},
		{LondonOther, "GB", "London", 51.5142, -0.0931, 10, 0, "GB"},
		{"::ffff:" + London, "GB", "London", 51.5142, -0.0931, 10, 0, "GB"},
		{London6, "GB", "London", 51.5142, -0.0931, 10, 0, "GB"},
		{Manchester, "GB", "Manchester", 53.4808, -2.2426, 20, 64496, "GB"},
		{Milton, "US", "Milton", 47.2513, -122.3149, 22, 64497, "US"},
		{SanDiego, "US", "San Diego", 32.7405, -117.0935, 5, 64498, "US"},
		{SanDiego6, "US", "San Diego", 32.7405, -117.0935, 5, 64498, "US"},
		{Linkoping, "SE", "Linköping", 58.4167, 15.6167, 76, 64499, "SE"},
		{Sydney, "AU", "Sydney", -33.8688, 151.2093, 20, 64500, "AU"},
		{Sydney6, "AU", "Sydney", -33.8688, 151.2093, 20, 64500, "AU"},
		{VPN, "NL", "Amsterdam", 52.3676, 4.9041, 200, 64501, "NL"},
		{TorExit, "DE", "Berlin", 52.52, 13.405, 200, 64502, "DE"},
		{RegisteredOnly, "", "", 0, 0, 0, 64503, "US"},
		{GB6, "GB", "", 54.75844, -2.69531, 1000, 0, "GB"},
		{Tokyo6, "JP", "Tokyo", 35.68536, 139.75309, 100, 64504, "JP"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			var c, k cityRecord
			if !lookup(t, city, tt.addr, &c) || !lookup(t, country, tt.addr, &k) {
				t.Fatal("not in the City or Country database")
			}
			if c.Country.ISOCode != tt.country || c.Registered.ISOCode != tt.registered || c.City.Names["en"] != tt.cityEN {
				t.Errorf("City record %+v", c)
			}
			switch {
			case tt.radius == 0 && c.Location != nil:
				t.Errorf("a location where there should be none: %+v", *c.Location)
			case tt.radius > 0 && (c.Location == nil || c.Location.Lat != tt.lat || c.Location.Lon != tt.lon || c.Location.Radius != tt.radius):
				t.Errorf("location %+v, want %v,%v r%d", c.Location, tt.lat, tt.lon, tt.radius)
			}
			if k.Country.ISOCode != tt.country || k.Registered.ISOCode != tt.registered || k.Location != nil || k.City.Names != nil {
				t.Errorf("Country record %+v (it has countries only)", k)
			}
			var a asnRecord
			if found := lookup(t, asn, tt.addr, &a); found != (tt.asn != 0) || a.ASN != tt.asn || (tt.asn != 0) != (a.Org != "") {
				t.Errorf("ASN record %+v (found %v), want AS%d", a, found, tt.asn)
			}
		})
	}
	for _, r := range []*maxminddb.Reader{city, country, asn} {
		if lookup(t, r, Unlisted, &cityRecord{}) {
			t.Errorf("%s knows the private address %s", r.Metadata.DatabaseType, Unlisted)
		}
	}
}

func TestTheAnonymousIPDatabaseFlagsOnlyTheAnonymisers(t *testing.T) {
	p, err := WriteAll(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r := open(t, p.AnonymousIP, AnonymousIP)
	var a anonRecord
	if !lookup(t, r, VPN, &a) || a != (anonRecord{Anonymous: true, VPN: true, Hosting: true}) {
		t.Errorf("VPN: %+v", a)
	}
	a = anonRecord{}
	if !lookup(t, r, TorExit, &a) || a != (anonRecord{Anonymous: true, Tor: true}) {
		t.Errorf("Tor exit: %+v", a)
	}
	for _, addr := range []string{London, Milton, Tokyo6, Unlisted} {
		if lookup(t, r, addr, &anonRecord{}) {
			t.Errorf("%s is in the Anonymous-IP database", addr)
		}
	}
}

func TestTheBrokenFilesAreBrokenTheWayTheySay(t *testing.T) {
	p, err := WriteAll(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if r, err := maxminddb.Open(p.Truncated); err == nil {
		r.Close()
		t.Error("the truncated database opened")
	}
	r, err := maxminddb.Open(p.BadData)
	if err != nil {
		t.Fatalf("the database with a bad data section does not open: %v", err)
	}
	defer r.Close()
	if r.Metadata.DatabaseType != string(City) {
		t.Errorf("database_type %q", r.Metadata.DatabaseType)
	}
	res := r.Lookup(netip.MustParseAddr(London))
	var c cityRecord
	if err := res.Decode(&c); err == nil {
		t.Errorf("a record decoded from the bad data section: %+v", c)
	}
}

// Write replaces a database in place with another table, as a reload test
// needs.
func TestWriteReplacesADatabaseWithAnotherTable(t *testing.T) {
	p, err := WriteAll(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	places := Places()
	for i := range places {
		if places[i].Country == "GB" {
			places[i].Country = "IE"
		}
	}
	if err := Write(p.Country, Country, places); err != nil {
		t.Fatal(err)
	}
	var k cityRecord
	if !lookup(t, open(t, p.Country, Country), London, &k) || k.Country.ISOCode != "IE" {
		t.Errorf("after the rewrite London is %+v, want IE", k.Country)
	}
}
