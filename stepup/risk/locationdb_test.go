package risk

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/internal/mmdbtest"
)

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
