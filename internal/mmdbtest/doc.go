// Package mmdbtest writes small MaxMind DB files for tests: City-, Country-,
// ASN- and Anonymous-IP-shaped databases built from a table in code
// (places.go), plus two broken files. MaxMind's own test databases cannot
// be committed here, and tests must not read anything outside the
// repository, so every test that needs a database writes one into its
// temporary directory:
//
//	paths, err := mmdbtest.WriteAll(t.TempDir())
//	... country_db paths.City, asn_db paths.ASN ...
//	... X-Forwarded-For: mmdbtest.London ...
//
// The addresses are documentation ranges (RFC 5737, RFC 3849) and the ASNs
// documentation numbers (RFC 5398): the files describe no real network.
// Written with IncludeReservedNetworks, which is what lets such ranges in;
// private addresses such as Unlisted stay out of every database.
//
// # Use from the other modules
//
// integration/, tools/bench and examples/demo are modules of their own.
// They require the root module and point it at this checkout with a replace
// directive (integration/go.mod: replace github.com/caddy-stepup/caddy-stepup
// => ../; tools/bench and examples/demo: => ../../), and import this
// package directly. Go's internal rule is about import paths,
// and theirs all start with github.com/caddy-stepup/caddy-stepup, so the
// import is allowed. This was chosen over a `go run` command because tests
// then call a function and get typed paths and named addresses, with no
// second process, no go command needed at test time and no output to
// parse; the cost is a longer go.sum in those modules (checksums only: the
// packages they build are still just this one and mmdbwriter).
package mmdbtest
