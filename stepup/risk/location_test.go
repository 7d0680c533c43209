package risk

import (
	"net/netip"
	"testing"
	"time"
)

func locationConfig(t testing.TB) *LocationConfig {
	dbs := testDBs(t)
	return &LocationConfig{
		CountryDB:        dbs.City,
		ASNDB:            dbs.ASN,
		CountryChange:    30,
		ASNChange:        10,
		ImpossibleTravel: 70,
	}
}

func TestRecordNotesCountryNetworkAndLocationAtLogin(t *testing.T) {
	e, _ := newEngine(t, &Config{Location: locationConfig(t), NewDevice: &NewDeviceConfig{}})
	tests := []struct {
		ip   netip.Addr
		want Recorded
	}{
		{milton, Recorded{Country: [2]byte{'U', 'S'}, ASN: 64497, Lat: 47.2513, Lon: -122.3149, Radius: 22}},
		{london, Recorded{Country: [2]byte{'G', 'B'}, Lat: 51.5142, Lon: -0.0931, Radius: 10}},
		{netip.AddrFrom16(london.As16()), Recorded{Country: [2]byte{'G', 'B'}, Lat: 51.5142, Lon: -0.0931, Radius: 10}},
		{linkoping, Recorded{Country: [2]byte{'S', 'E'}, ASN: 64499, Lat: 58.4167, Lon: 15.6167, Radius: 76}},
		{tokyo6, Recorded{Country: [2]byte{'J', 'P'}, ASN: 64504, Lat: 35.68536, Lon: 139.75309, Radius: 100}},
		{registeredOnly, Recorded{Country: [2]byte{'U', 'S'}, ASN: 64503}}, // no country of its own: the registered one
		{private, Recorded{}},
	}
	for _, tt := range tests {
		t.Run(tt.ip.String(), func(t *testing.T) {
			tt.want.Device, tt.want.At = 77, t0.Unix()
			if got := e.Record(&Request{Now: t0, ClientIP: tt.ip, Device: 77}); got != tt.want {
				t.Errorf("Record = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLocationSignalsCompareWithWhatWasRecordedAtLogin(t *testing.T) {
	e, _ := newEngine(t, &Config{Location: locationConfig(t)})
	login := func(ip netip.Addr, at time.Time) Recorded { return e.Record(&Request{Now: at, ClientIP: ip}) }
	tests := []struct {
		name  string
		login netip.Addr
		after time.Duration
		now   netip.Addr
		want  string
	}{
		{"same place scores nothing", milton, time.Minute, milton, ""},
		{"London to Milton in one hour is impossible travel", london, time.Hour, milton, "country_change=30 impossible_travel=70"},
		{"London to Milton in twenty hours is possible", london, 20 * time.Hour, milton, "country_change=30"},
		{"another network in the same country", milton, 24 * time.Hour, sanDiego, "asn_change=10"},
		{"Milton to San Diego (1,600 km) in ten minutes", milton, 10 * time.Minute, sanDiego, "asn_change=10 impossible_travel=70"},
		{"country and network change together", milton, 48 * time.Hour, linkoping, "country_change=30 asn_change=10"},
		{"IPv6: Tokyo to London's country centre in a day", tokyo6, 24 * time.Hour, gb6, "country_change=30"},
		{"IPv6: Tokyo to Britain in an hour", tokyo6, time.Hour, gb6, "country_change=30 impossible_travel=70"},
		{"IPv6 San Diego to IPv4 San Diego", sanDiego6, time.Minute, sanDiego, ""},
		{"an address no database knows scores nothing", london, time.Second, private, ""},
		{"a login from an unknown address compares with nothing", private, time.Second, linkoping, ""},
		{"a network unknown at login compares with nothing", london, 48 * time.Hour, manchester, ""},
		{"London to Manchester (260 km) in an hour is possible", manchester, time.Hour, london, ""},
		{"London to Manchester in ten minutes is not", manchester, 10 * time.Minute, london, "impossible_travel=70"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := Request{Now: t0.Add(tt.after), ClientIP: tt.now, HasLogin: true, Login: login(tt.login, t0)}
			if got := evaluate(e, req).Reasons(); got != tt.want {
				t.Errorf("reasons %q, want %q", got, tt.want)
			}
		})
	}
	// Without a login, nothing is compared.
	if r := evaluate(e, Request{Now: t0, ClientIP: linkoping}); r.N != 0 {
		t.Errorf("request without login scored %s", r.Reasons())
	}
}

func TestImpossibleTravelTakesAccuracyRadiiOffTheDistance(t *testing.T) {
	from := Recorded{Lat: 51.5142, Lon: -0.0931, Radius: 10, At: t0.Unix()} // London
	// Country-level record, 400 km from London, 1000 km accuracy radius.
	countryCentre := &geoRecord{hasLoc: true, lat: 54.75844, lon: -2.69531, radius: 1000}
	if impossibleTravel(&from, countryCentre, t0.Add(time.Minute), 1000) {
		t.Error("a move within the accuracy radius fired")
	}
	precise := &geoRecord{hasLoc: true, lat: 54.75844, lon: -2.69531, radius: 5}
	if !impossibleTravel(&from, precise, t0.Add(time.Minute), 1000) {
		t.Error("400 km in a minute between precise locations did not fire")
	}
	if !impossibleTravel(&from, precise, t0, 1000) {
		t.Error("400 km in no time did not fire")
	}
	if impossibleTravel(&Recorded{At: t0.Unix()}, precise, t0, 1000) {
		t.Error("an unknown login location fired")
	}
	if d := distanceKM(51.5142, -0.0931, 47.2513, -122.3149); d < 7650 || d > 7750 {
		t.Errorf("London-Milton = %.0f km, want about 7,700", d)
	}
}

func TestCountryListsDenyOrAllow(t *testing.T) {
	db := testDBs(t).Country
	tests := []struct {
		name  string
		cfg   LocationConfig
		ip    netip.Addr
		score int
	}{
		{"denied country", LocationConfig{DenyCountries: []string{"SE", "JP"}}, linkoping, 100},
		{"denied country over IPv6", LocationConfig{DenyCountries: []string{"SE", "JP"}}, tokyo6, 100},
		{"country not denied", LocationConfig{DenyCountries: []string{"SE"}}, london, 0},
		{"allowed country", LocationConfig{AllowCountries: []string{"GB"}, CountryDenied: 55}, london, 0},
		{"country not allowed", LocationConfig{AllowCountries: []string{"GB"}, CountryDenied: 55}, milton, 55},
		{"unknown address is not scored by an allow list", LocationConfig{AllowCountries: []string{"GB"}}, private, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.CountryDB = db
			e, _ := newEngine(t, &Config{Location: &tt.cfg})
			r := evaluate(e, Request{Now: t0, ClientIP: tt.ip})
			if r.Score != tt.score || (tt.score > 0) != r.Has(SignalCountryDenied) {
				t.Errorf("score %d (%s), want %d", r.Score, r.Reasons(), tt.score)
			}
		})
	}
}
