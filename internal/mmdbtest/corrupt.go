package mmdbtest

import (
	"bytes"
	"fmt"

	maxminddb "github.com/oschwald/maxminddb-golang/v2"
)

// metadataMarker starts a database's metadata section (MaxMind DB spec).
var metadataMarker = []byte("\xab\xcd\xefMaxMind.com")

// writeTruncated writes the first half of a City database: what an
// interrupted download leaves. It has no metadata, so it does not open.
func writeTruncated(path string, places []Place) error {
	b, err := build(City, places)
	if err != nil {
		return err
	}
	return writeFile(path, b[:len(b)/2])
}

// writeBadData writes a City database whose search tree and metadata are
// intact but whose data section is overwritten with 0xff bytes (an
// invalid type): it opens, and every lookup of an address it knows fails
// while decoding the record.
func writeBadData(path string, places []Place) error {
	b, err := build(City, places)
	if err != nil {
		return err
	}
	r, err := maxminddb.OpenBytes(b)
	if err != nil {
		return fmt.Errorf("mmdbtest: reopen: %w", err)
	}
	m := r.Metadata
	// The tree is NodeCount nodes of two records, then 16 zero bytes.
	start := int(m.NodeCount)*int(m.RecordSize)/4 + 16
	end := bytes.LastIndex(b, metadataMarker)
	if start >= end {
		return fmt.Errorf("mmdbtest: no data section found (tree ends at %d, metadata at %d)", start, end)
	}
	for i := start; i < end; i++ {
		b[i] = 0xff
	}
	return writeFile(path, b)
}
