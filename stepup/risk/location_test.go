package risk

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/internal/mmdbtest"
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

func TestMissingDatabasesFailOpenOrClosedPerSignal(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "GeoLite2-City.mmdb")
	login := Recorded{Country: [2]byte{'G', 'B'}, ASN: 2856, Lat: 51.5, Lon: -0.1, At: t0.Unix()}
	tests := []struct {
		name     string
		failOpen bool
		hasLogin bool
		want     string
	}{
		{"closed, with login: every signal that needs the database", false, true, "country_denied=100(unavailable) country_change=30(unavailable) asn_change=10(unavailable) impossible_travel=70(unavailable)"},
		{"closed, without login: only the list", false, false, "country_denied=100(unavailable)"},
		{"open, with login: nothing, but said", true, true, "country_denied=0(unavailable) country_change=0(unavailable) asn_change=0(unavailable) impossible_travel=0(unavailable)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &LocationConfig{CountryDB: missing, ASNDB: missing + ".asn", CountryChange: 30, ASNChange: 10,
				ImpossibleTravel: 70, DenyCountries: []string{"KP"}, FailOpen: tt.failOpen, Optional: true}
			e, logs := newEngine(t, &Config{Location: c})
			var r *Result
			for range 3 {
				r = evaluate(e, Request{Now: t0, ClientIP: london, HasLogin: tt.hasLogin, Login: login})
			}
			if got := r.Reasons(); got != tt.want {
				t.Errorf("reasons\n %s\nwant\n %s", got, tt.want)
			}
			if n := logs.FilterMessage("risk: data file unavailable; " + failMode(tt.failOpen, "location")).Len(); n != 2 {
				t.Errorf("%d unavailable messages, want 2 (one per database, not per request)", n)
			}
			if got := e.Record(&Request{Now: t0, ClientIP: london}); got != (Recorded{At: t0.Unix()}) {
				t.Errorf("Record without databases = %+v", got)
			}
		})
	}
}

func TestACountryDatabaseCannotJudgeTravel(t *testing.T) {
	c := &LocationConfig{CountryDB: testDBs(t).Country, CountryChange: 30, ImpossibleTravel: 70}
	e, logs := newEngine(t, &Config{Location: c})
	login := Recorded{Country: [2]byte{'G', 'B'}, Lat: 51.5142, Lon: -0.0931, At: t0.Unix()}
	r := evaluate(e, Request{Now: t0.Add(time.Hour), ClientIP: milton, HasLogin: true, Login: login})
	if got, want := r.Reasons(), "country_change=30 impossible_travel=70(unavailable)"; got != want {
		t.Errorf("reasons %q, want %q", got, want)
	}
	if logs.FilterMessage("risk: impossible_travel needs a City database with coordinates; it is unavailable until country_db is one").Len() != 1 {
		t.Error("the misconfiguration was not logged at load")
	}
}

func TestADatabaseOfTheWrongKindIsRejected(t *testing.T) {
	dbs := testDBs(t)
	tests := []struct {
		name       string
		country    string
		asn        string
		want       string
		wantLogged string
	}{
		{"an ASN database as country_db", dbs.ASN, "", "country_change=0(unavailable)", `database type "GeoLite2-ASN" has no country data`},
		{"an Anonymous-IP database as country_db", dbs.AnonymousIP, "", "country_change=0(unavailable)", `database type "GeoIP2-Anonymous-IP" has no country data`},
		{"an Anonymous-IP database as asn_db", dbs.City, dbs.AnonymousIP, "country_change=30 asn_change=0(unavailable)", `database type "GeoIP2-Anonymous-IP" has no asn data`},
		{"a City database as asn_db", dbs.City, dbs.City, "country_change=30 asn_change=0(unavailable)", `database type "GeoIP2-City" has no asn data`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &LocationConfig{CountryDB: tt.country, ASNDB: tt.asn, CountryChange: 30, FailOpen: true, Optional: true}
			if tt.asn != "" {
				c.ASNChange = 10
			}
			e, logs := newEngine(t, &Config{Location: c})
			r := evaluate(e, Request{Now: t0, ClientIP: london, HasLogin: true, Login: Recorded{Country: [2]byte{'U', 'S'}, ASN: 64496}})
			if got := r.Reasons(); got != tt.want {
				t.Errorf("reasons %q, want %q", got, tt.want)
			}
			unavailable := logs.FilterMessage("risk: data file unavailable; " + failMode(true, "location")).All()
			if len(unavailable) != 1 || !strings.Contains(unavailable[0].ContextMap()["error"].(string), tt.wantLogged) {
				t.Errorf("not logged as %q: %v", tt.wantLogged, logs.All())
			}
		})
	}
}

// A file that is not a database at all (an interrupted download) is
// unavailable, and the signals fail as configured.
func TestATruncatedDatabaseIsUnavailable(t *testing.T) {
	c := &LocationConfig{CountryDB: testDBs(t).Truncated, CountryChange: 30, ImpossibleTravel: 70, Optional: true}
	e, logs := newEngine(t, &Config{Location: c})
	r := evaluate(e, Request{Now: t0, ClientIP: london, HasLogin: true, Login: Recorded{Country: [2]byte{'U', 'S'}}})
	if got, want := r.Reasons(), "country_change=30(unavailable) impossible_travel=70(unavailable)"; got != want {
		t.Errorf("reasons %q, want %q", got, want)
	}
	if logs.FilterMessage("risk: data file unavailable; "+failMode(false, "location")).Len() != 1 {
		t.Errorf("not logged: %v", logs.All())
	}
}

// A database that opens but whose records do not decode fails each lookup
// of an address it knows: those requests are scored as if it were
// unavailable, the error is logged once, and addresses it does not know
// still score nothing.
func TestADatabaseWhoseRecordsDoNotDecodeFailsThoseLookups(t *testing.T) {
	c := &LocationConfig{CountryDB: testDBs(t).BadData, CountryChange: 30, ImpossibleTravel: 70}
	e, logs := newEngine(t, &Config{Location: c})
	login := Recorded{Country: [2]byte{'U', 'S'}, Lat: 47.2513, Lon: -122.3149, At: t0.Unix()}
	for _, ip := range []netip.Addr{london, milton} {
		r := evaluate(e, Request{Now: t0.Add(time.Hour), ClientIP: ip, HasLogin: true, Login: login})
		if got, want := r.Reasons(), "country_change=30(unavailable) impossible_travel=70(unavailable)"; got != want {
			t.Errorf("%s: reasons %q, want %q", ip, got, want)
		}
	}
	if r := evaluate(e, Request{Now: t0, ClientIP: private, HasLogin: true, Login: login}); r.N != 0 {
		t.Errorf("an address the database does not know scored %s", r.Reasons())
	}
	if n := logs.FilterMessage("risk: MaxMind lookup failed; treating the database as unavailable for such requests (logged once)").Len(); n != 1 {
		t.Errorf("lookup failure logged %d times, want once", n)
	}
	if got := e.Record(&Request{Now: t0, ClientIP: london}); got != (Recorded{At: t0.Unix()}) {
		t.Errorf("Record from an undecodable database = %+v", got)
	}
}

// A loaded database replaced by a broken file stays in use.
func TestABrokenReplacementKeepsTheLoadedDatabase(t *testing.T) {
	dbs := testDBs(t)
	c := &LocationConfig{CountryDB: dbs.City, CountryChange: 30}
	e, logs := newEngine(t, &Config{Location: c})
	req := Request{Now: t0, ClientIP: milton, HasLogin: true, Login: Recorded{Country: [2]byte{'G', 'B'}}}
	if got := evaluate(e, req).Reasons(); got != "country_change=30" {
		t.Fatalf("before: %q", got)
	}
	if err := renameOver(dbs.Truncated, dbs.City); err != nil {
		t.Fatal(err)
	}
	e.watch.poll()
	if got := evaluate(e, req).Reasons(); got != "country_change=30" {
		t.Errorf("after a truncated file replaced the database: %q", got)
	}
	if logs.FilterMessage("risk: data file unreadable; keeping the copy loaded before").Len() != 1 {
		t.Errorf("the broken replacement was not reported: %v", logs.All())
	}
}

func TestADatabaseIsReloadedWhenItChanges(t *testing.T) {
	dbs := testDBs(t)
	path := dbs.Country
	c := &LocationConfig{CountryDB: path, CountryChange: 30, ImpossibleTravel: 70}
	e, _ := newEngine(t, &Config{Location: c})
	login := Recorded{Country: [2]byte{'G', 'B'}, Lat: 51.5142, Lon: -0.0931, At: t0.Unix()}
	req := Request{Now: t0.Add(time.Hour), ClientIP: milton, HasLogin: true, Login: login}
	if got := evaluate(e, req).Reasons(); got != "country_change=30 impossible_travel=70(unavailable)" {
		t.Fatalf("before: %s", got)
	}
	if err := renameOver(dbs.City, path); err != nil { // geoipupdate replaces the file this way
		t.Fatal(err)
	}
	e.watch.poll()
	if got := evaluate(e, req).Reasons(); got != "country_change=30 impossible_travel=70" {
		t.Errorf("after the City database replaced the Country one: %s", got)
	}
}

// A database rewritten with other content answers with it after the poll:
// here London's network moves from GB to IE.
func TestARewrittenDatabaseAnswersWithItsNewContent(t *testing.T) {
	dbs := testDBs(t)
	e, _ := newEngine(t, &Config{Location: &LocationConfig{CountryDB: dbs.City, CountryChange: 30}})
	req := Request{Now: t0, ClientIP: london, HasLogin: true, Login: Recorded{Country: [2]byte{'G', 'B'}}}
	if got := evaluate(e, req).Reasons(); got != "" {
		t.Fatalf("before: %q", got)
	}
	places := mmdbtest.Places()
	for i := range places {
		if places[i].Network.Contains(london) {
			places[i].Country = "IE"
		}
	}
	if err := mmdbtest.Write(dbs.City, mmdbtest.City, places); err != nil {
		t.Fatal(err)
	}
	e.watch.poll()
	if got := evaluate(e, req).Reasons(); got != "country_change=30" {
		t.Errorf("after London moved to IE: %q", got)
	}
}
