package mmdbtest

import "net/netip"

// Addresses the generated databases know, one per place, so that tests
// read as where the client is. Each sits in its place's network (see
// Places); distances and radii are chosen so that every location signal
// can be made to fire and to stay quiet:
//
//   - country change: London → Milton, London → Linköping, Tokyo6 → GB6;
//   - network (ASN) change: Milton → SanDiego (same country);
//   - no network known: London has no ASN record (Manchester has one);
//   - impossible travel: London → Milton in an hour fires, in twenty hours
//     does not; Milton → SanDiego (1,650 km) in ten minutes fires;
//     London → Manchester (260 km) in an hour does not; GB6 is a
//     country-level record whose 1,000 km radius absorbs moves within it;
//   - IPv4 and IPv6: London6, SanDiego6, Sydney6 repeat their IPv4 places,
//     Tokyo6 and GB6 exist only over IPv6;
//   - registered country only: RegisteredOnly has no country record of its
//     own (as anycast and satellite networks), only registered_country;
//   - anonymisers: VPN and TorExit are in the Anonymous-IP database;
//   - Unlisted is private and in no database.
//
// Milton lies in 192.0.2.64/26, which stepup/risk's FireHOL fixture
// lists, so one request can fire reputation and location together.
const (
	London         = "198.51.100.10"  // GB, London, radius 10 km; no ASN record
	LondonOther    = "198.51.100.11"  // another address of London's network
	Manchester     = "198.51.100.20"  // GB, Manchester, radius 20 km; AS64496
	SanDiego       = "198.51.100.40"  // US, San Diego, radius 5 km; AS64498
	Linkoping      = "198.51.100.50"  // SE, Linköping, radius 76 km; AS64499
	Sydney         = "198.51.100.70"  // AU, Sydney, radius 20 km; AS64500
	VPN            = "198.51.100.90"  // NL, a hosting provider's VPN exit; AS64501
	TorExit        = "198.51.100.100" // DE, a Tor exit node; AS64502
	RegisteredOnly = "198.51.100.120" // registered_country US only, no location; AS64503
	Milton         = "192.0.2.100"    // US, Milton WA, radius 22 km; AS64497
	London6        = "2001:db8:44::10"
	GB6            = "2001:db8:4e::1" // GB, country centre, radius 1,000 km; no ASN record
	Tokyo6         = "2001:db8:81::1" // JP, Tokyo, radius 100 km; AS64504
	SanDiego6      = "2001:db8:5d::1"
	Sydney6        = "2001:db8:61::1"
	Unlisted       = "10.1.2.3" // private: in no database
)

// Place is one network of the generated databases and what they say
// about it. Zero fields are left out of the records.
type Place struct {
	Network    netip.Prefix
	City       string  // city.names.en (City database only)
	Country    string  // country.iso_code
	Registered string  // registered_country.iso_code; Country when empty
	Lat, Lon   float64 // location (City database only) when Radius > 0
	Radius     uint16  // location.accuracy_radius, km
	ASN        uint32  // autonomous_system_number; 0: not in the ASN database
	Org        string  // autonomous_system_organization
	Anonymous  Anonymity
}

// Anonymity is a record of the Anonymous-IP database; a place whose
// Anonymity is zero is not in it.
type Anonymity struct {
	VPN, Hosting, PublicProxy, ResidentialProxy, TorExit bool
}

func (a Anonymity) any() bool { return a != Anonymity{} }

// Places is the table the databases are written from. It returns a new
// slice each time: a test may change it and Write the result, to replace a
// database with a different one.
func Places() []Place {
	p := netip.MustParsePrefix
	london := Place{City: "London", Country: "GB", Lat: 51.5142, Lon: -0.0931, Radius: 10}
	sanDiego := Place{City: "San Diego", Country: "US", Lat: 32.7405, Lon: -117.0935, Radius: 5, ASN: 64498, Org: "Example Pacific Networks"}
	sydney := Place{City: "Sydney", Country: "AU", Lat: -33.8688, Lon: 151.2093, Radius: 20, ASN: 64500, Org: "Example Harbour Telecom"}
	return []Place{
		with(london, p("198.51.100.0/28")),
		with(london, p("2001:db8:44::/48")),
		{Network: p("198.51.100.16/28"), City: "Manchester", Country: "GB", Lat: 53.4808, Lon: -2.2426, Radius: 20, ASN: 64496, Org: "Example Northern Broadband"},
		with(sanDiego, p("198.51.100.32/28")),
		with(sanDiego, p("2001:db8:5d::/48")),
		{Network: p("198.51.100.48/28"), City: "Linköping", Country: "SE", Lat: 58.4167, Lon: 15.6167, Radius: 76, ASN: 64499, Org: "Example Östergötland Net"},
		with(sydney, p("198.51.100.64/28")),
		with(sydney, p("2001:db8:61::/48")),
		{Network: p("198.51.100.80/28"), City: "Amsterdam", Country: "NL", Lat: 52.3676, Lon: 4.9041, Radius: 200, ASN: 64501, Org: "Example Cloud Hosting",
			Anonymous: Anonymity{VPN: true, Hosting: true}},
		{Network: p("198.51.100.96/28"), City: "Berlin", Country: "DE", Lat: 52.52, Lon: 13.405, Radius: 200, ASN: 64502, Org: "Example Relay Association",
			Anonymous: Anonymity{TorExit: true, PublicProxy: true}},
		{Network: p("198.51.100.112/28"), Registered: "US", ASN: 64503, Org: "Example Anycast"},
		{Network: p("192.0.2.96/28"), City: "Milton", Country: "US", Lat: 47.2513, Lon: -122.3149, Radius: 22, ASN: 64497, Org: "Example Cascade Cable"},
		{Network: p("2001:db8:4e::/48"), Country: "GB", Lat: 54.75844, Lon: -2.69531, Radius: 1000}, // a country-level record, no ASN
		{Network: p("2001:db8:81::/48"), City: "Tokyo", Country: "JP", Lat: 35.68536, Lon: 139.75309, Radius: 100, ASN: 64504, Org: "Example Kanto Fibre"},
	}
}

func with(pl Place, network netip.Prefix) Place {
	pl.Network = network
	return pl
}
