package main

import (
	"fmt"
	"strings"
)

// reloadJSON is n host routes on listen, each a static response, with a
// stepup handler of its own (a distinct rule, one issuer) in front when
// stepup is set: the shape of N annotated Ingresses. The hosts are loopback
// addresses (siteHost) because insecure_loopback_http, which lets the
// bench log in over plain HTTP, holds only for loopback sites.
func reloadJSON(n int, stepup bool, admin, listen, storage, issuer string) []byte {
	var routes []string
	for i := range n {
		handle := `{"handler":"static_response","body":"ok","headers":{"X-Upstream-User":["{http.auth.user.id}"]}}`
		if stepup {
			handle = fmt.Sprintf(`{"handler":"stepup","provider":{"issuer":%q,"client_id":"bench","client_secret":"bench-secret"},"insecure_loopback_http":true,`+
				`"acr_levels":["urn:bench:pwd",%q],"rules":[{"name":"admin%d","match":[{"path":["/admin%d/*"]}],"acr":[%q]}]},`, issuer, benchACR, i, i, benchACR) + handle
		}
		routes = append(routes, fmt.Sprintf(`{"match":[{"host":[%q]}],"handle":[%s],"terminal":true}`, siteHost(i), handle))
	}
	return fmt.Appendf(nil, `{"admin":{"listen":%q,"config":{"persist":false}},"storage":{"module":"file_system","root":%q},`+
		`"logging":{"logs":{"default":{"level":"ERROR"}}},`+
		`"apps":{"http":{"servers":{"s":{"listen":[%q],"automatic_https":{"disable":true},"routes":[%s]}}}}}`,
		admin, storage, listen, strings.Join(routes, ","))
}

// siteHost is site i's host: 127.0.0.1, 127.0.0.2, … (62,500 of them).
func siteHost(i int) string { return fmt.Sprintf("127.0.%d.%d", i/250, i%250+1) }
