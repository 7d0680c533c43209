package main

// writeGeoDatabases writes the location databases the risk engine reads.
// Until the generator lands, location is left out of the Caddyfile.
func writeGeoDatabases(dir string) (city, asn string, err error) { return "", "", nil }
