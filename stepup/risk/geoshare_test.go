package risk

import (
	"testing"

	"go.uber.org/zap"
)

// heldKeys is how many entries of the process-wide database pool are held.
func heldKeys(t *testing.T, keys ...string) (held int) {
	t.Helper()
	for _, k := range keys {
		if n, ok := geoDBs.References(k); ok && n > 0 {
			held++
		}
	}
	return held
}

func TestEnginesReadingTheSameDatabaseShareOneCopy(t *testing.T) {
	dbs := testDBs(t)
	c := &LocationConfig{CountryDB: dbs.City, ASNDB: dbs.ASN, CountryChange: 30}
	a, _ := newEngine(t, &Config{Location: c})
	b, logs := newEngine(t, &Config{Location: c}) // a second site, or the config after a reload

	if a.loc.country.Load() != b.loc.country.Load() || a.loc.asn.Load() != b.loc.asn.Load() {
		t.Fatal("two engines over the same files hold two copies of the databases")
	}
	if a.loc.country.Load() == nil {
		t.Fatal("database not loaded")
	}
	if n := logs.FilterField(zap.Bool("shared_with_another_config", true)).Len(); n != 2 {
		t.Errorf("the second engine logged %d shared loads, want 2 (country and ASN)", n)
	}
	keys := []string{a.loc.holds.keys["country"], a.loc.holds.keys["asn"]}
	if n, _ := geoDBs.References(keys[0]); n != 2 {
		t.Fatalf("the City database has %d holders, want 2", n)
	}

	// The old config goes away: the new one keeps its databases and works.
	a.Close()
	if n, _ := geoDBs.References(keys[0]); n != 1 {
		t.Fatalf("after one engine closed the City database has %d holders, want 1", n)
	}
	login := Recorded{Country: [2]byte{'G', 'B'}, At: t0.Unix()}
	if got := evaluate(b, Request{Now: t0, ClientIP: milton, HasLogin: true, Login: login}).Reasons(); got != "country_change=30" {
		t.Fatalf("the remaining engine scored %q", got)
	}
	// Closing twice releases once.
	a.Close()
	if n, _ := geoDBs.References(keys[0]); n != 1 {
		t.Fatalf("a second Close released again: %d holders", n)
	}
	b.Close()
	if held := heldKeys(t, keys...); held != 0 {
		t.Fatalf("%d databases still held after every engine closed", held)
	}
}

func TestAChangedDatabaseIsANewEntryAndTheOldOneIsReleased(t *testing.T) {
	dbs := testDBs(t)
	path := dbs.Country
	c := &LocationConfig{CountryDB: path, CountryChange: 30}
	e, _ := newEngine(t, &Config{Location: c})
	before, oldKey := e.loc.country.Load(), e.loc.holds.keys["country"]

	if err := renameOver(dbs.City, path); err != nil {
		t.Fatal(err)
	}
	e.watch.poll()
	if e.loc.country.Load() == before {
		t.Fatal("the changed file was not loaded")
	}
	if held := heldKeys(t, oldKey); held != 0 {
		t.Fatal("the replaced database is still held")
	}
	// An engine built now gets the new copy, shared.
	other, _ := newEngine(t, &Config{Location: c})
	if other.loc.country.Load() != e.loc.country.Load() {
		t.Fatal("an engine built after the change does not share the new copy")
	}
}

func TestAPollFinishingAfterCloseHoldsNothing(t *testing.T) {
	path := testDBs(t).Country
	e, _ := newEngine(t, &Config{Location: &LocationConfig{CountryDB: path, CountryChange: 30}})
	key := e.loc.holds.keys["country"]
	e.Close()
	// A load the poller had started before Close finishes now.
	if err := e.loc.load(path, "country", &e.loc.country); err != nil {
		t.Fatal(err)
	}
	if held := heldKeys(t, key); held != 0 {
		t.Fatal("a load after Close left the database held")
	}
}
