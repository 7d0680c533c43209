package mmdbtest

import (
	"bytes"
	"cmp"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Kind is a database's database_type metadata, which readers (stepup/risk
// among them) check to know what records to expect.
type Kind string

// The kinds WriteAll writes, named as MaxMind names its products.
const (
	City        Kind = "GeoIP2-City"
	Country     Kind = "GeoIP2-Country"
	ASN         Kind = "GeoLite2-ASN"
	AnonymousIP Kind = "GeoIP2-Anonymous-IP"
)

// Paths are the files WriteAll wrote.
type Paths struct {
	City        string // GeoIP2-City: countries, coordinates, accuracy radii
	Country     string // GeoIP2-Country: countries only, no coordinates
	ASN         string // GeoLite2-ASN: network numbers and names
	AnonymousIP string // GeoIP2-Anonymous-IP: a database of the wrong type for country_db and asn_db
	Truncated   string // a City database cut short: it does not open
	BadData     string // a City database whose data section is garbage: it opens, lookups fail
}

// WriteAll writes every database of Places into dir, which must exist,
// and returns their paths.
func WriteAll(dir string) (Paths, error) {
	p := Paths{
		City:        filepath.Join(dir, "City.mmdb"),
		Country:     filepath.Join(dir, "Country.mmdb"),
		ASN:         filepath.Join(dir, "ASN.mmdb"),
		AnonymousIP: filepath.Join(dir, "Anonymous-IP.mmdb"),
		Truncated:   filepath.Join(dir, "truncated.mmdb"),
		BadData:     filepath.Join(dir, "bad-data.mmdb"),
	}
	places := Places()
	for _, f := range []struct {
		path string
		kind Kind
	}{{p.City, City}, {p.Country, Country}, {p.ASN, ASN}, {p.AnonymousIP, AnonymousIP}} {
		if err := Write(f.path, f.kind, places); err != nil {
			return Paths{}, err
		}
	}
	if err := writeTruncated(p.Truncated, places); err != nil {
		return Paths{}, err
	}
	if err := writeBadData(p.BadData, places); err != nil {
		return Paths{}, err
	}
	return p, nil
}

// Write writes a database of kind from places to path. It writes a
// temporary file beside path and renames it over path, as geoipupdate
// does, so a reader polling path never sees half a file: a test can
// replace a loaded database with another table to exercise a reload.
func Write(path string, kind Kind, places []Place) error {
	b, err := build(kind, places)
	if err != nil {
		return err
	}
	return writeFile(path, b)
}

// build returns the bytes of a database of kind from places.
func build(kind Kind, places []Place) ([]byte, error) {
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            string(kind),
		Description:             map[string]string{"en": "caddy-stepup test data (generated; describes no real network)"},
		Languages:               []string{"en"},
		IncludeReservedNetworks: true, // the table uses documentation ranges
		RecordSize:              24,
	})
	if err != nil {
		return nil, fmt.Errorf("mmdbtest: %s: %w", kind, err)
	}
	for _, pl := range places {
		rec := record(kind, pl)
		if rec == nil {
			continue
		}
		_, network, err := net.ParseCIDR(pl.Network.String())
		if err != nil {
			return nil, fmt.Errorf("mmdbtest: %s: %w", kind, err)
		}
		if err := tree.Insert(network, rec); err != nil {
			return nil, fmt.Errorf("mmdbtest: %s: insert %s: %w", kind, pl.Network, err)
		}
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("mmdbtest: %s: %w", kind, err)
	}
	return buf.Bytes(), nil
}

// record is pl as a record of kind, or nil when kind has nothing to say
// about pl (an ASN database has no record for a network without one).
func record(kind Kind, pl Place) mmdbtype.Map {
	m := mmdbtype.Map{}
	switch kind {
	case ASN:
		if pl.ASN == 0 {
			return nil
		}
		m["autonomous_system_number"] = mmdbtype.Uint32(pl.ASN)
		if pl.Org != "" {
			m["autonomous_system_organization"] = mmdbtype.String(pl.Org)
		}
	case AnonymousIP:
		a := pl.Anonymous
		if !a.any() {
			return nil
		}
		m["is_anonymous"] = mmdbtype.Bool(true)
		flag(m, "is_anonymous_vpn", a.VPN)
		flag(m, "is_hosting_provider", a.Hosting)
		flag(m, "is_public_proxy", a.PublicProxy)
		flag(m, "is_residential_proxy", a.ResidentialProxy)
		flag(m, "is_tor_exit_node", a.TorExit)
	case City, Country:
		if pl.Country != "" {
			m["country"] = country(pl.Country)
		}
		if reg := cmp.Or(pl.Registered, pl.Country); reg != "" {
			m["registered_country"] = country(reg)
		}
		if kind == City && pl.City != "" {
			m["city"] = mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(pl.City)}}
		}
		if kind == City && pl.Radius > 0 {
			m["location"] = mmdbtype.Map{
				"latitude":        mmdbtype.Float64(pl.Lat),
				"longitude":       mmdbtype.Float64(pl.Lon),
				"accuracy_radius": mmdbtype.Uint16(pl.Radius),
			}
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

func country(iso string) mmdbtype.Map {
	return mmdbtype.Map{"iso_code": mmdbtype.String(iso)}
}

// flag sets key only when true, as MaxMind's Anonymous-IP records do.
func flag(m mmdbtype.Map, key mmdbtype.String, on bool) {
	if on {
		m[key] = mmdbtype.Bool(true)
	}
}

// writeFile puts b at path through a temporary file and a rename.
func writeFile(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".mmdbtest-*")
	if err != nil {
		return fmt.Errorf("mmdbtest: %w", err)
	}
	_, err = tmp.Write(b)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("mmdbtest: write %s: %w", path, err)
	}
	return nil
}
