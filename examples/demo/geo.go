package main

import (
	"path/filepath"

	"github.com/caddy-stepup/caddy-stepup/internal/mmdbtest"
)

// writeGeoDatabases writes the location databases the risk engine reads:
// small MaxMind-format City and ASN files generated from the repository's
// test table (documentation address ranges, no real network), so the demo
// reads nothing from outside the repository and downloads nothing.
func writeGeoDatabases(dir string) (city, asn string, err error) {
	city, asn = filepath.Join(dir, "City.mmdb"), filepath.Join(dir, "ASN.mmdb")
	if err := mmdbtest.Write(city, mmdbtest.City, mmdbtest.Places()); err != nil {
		return "", "", err
	}
	if err := mmdbtest.Write(asn, mmdbtest.ASN, mmdbtest.Places()); err != nil {
		return "", "", err
	}
	return city, asn, nil
}
