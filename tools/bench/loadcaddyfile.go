package main

import (
	"fmt"
	"path/filepath"
	"strings"
)

// stepupLogin is the inside of a stepup block that the load and logins
// runs share: the bench OP as the provider, and /admin needing benchACR.
func stepupLogin(issuer string) string {
	return fmt.Sprintf(`		issuer %s
		client_id bench
		client_secret bench-secret
		insecure_loopback_http
		acr_levels urn:bench:pwd %s
		rule admin {
			match /admin*
			acr %s
		}
`, issuer, benchACR, benchACR)
}

func caddyfile(c *loadConfig, t *target, upPort, authPort int, issuer, dir string) string {
	name, port := t.name, t.port
	admin := "admin off"
	if t.adminPort != 0 {
		admin = "admin " + addr(t.adminPort)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `{
	`+admin+`
	persist_config off
	auto_https off
	storage file_system %s/storage
	servers {
		trusted_proxies static 127.0.0.1/32
	}
	log {
		level WARN
	}
}

http://127.0.0.1:%d {
	bind 127.0.0.1
`, dir, port)
	switch name {
	case "stepup", "risk", "risk_redis":
		b.WriteString("\tstepup {\n" + stepupLogin(issuer) + "\t\tupstream_header X-Auth-User {http.auth.user.id}\n")
		if name == "risk_redis" {
			fmt.Fprintf(&b, "\t\tstate redis %s\n", c.redisAddr)
		}
		if name == "risk" || name == "risk_redis" {
			lists := filepath.Join(c.repo, "stepup", "risk", "testdata")
			fmt.Fprintf(&b, `		risk {
			step_up 50
			deny 90
			acr %s
			ip_reputation {
				file %s/firehol_level1.netset %s/drop.txt %s/dropv6.txt
				weight 40
			}
			location {
				country_db %s
				asn_db %s
				country_change 30
				asn_change 10
				impossible_travel 70
				deny_countries KP
			}
			frequency {
				window 1s
				limit 60000
				ip_limit 60000
			}
			new_device {
				weight 30
			}
		}
`, benchACR, lists, lists, lists, c.countryDB, c.asnDB)
		}
		b.WriteString("\t}\n")
	case "forward_auth", "forward_auth_cookie":
		fmt.Fprintf(&b, `	forward_auth 127.0.0.1:%d {
		uri /auth
		copy_headers X-Auth-User
	}
`, authPort)
	case "bytes":
		// The control: what the stepup targets put on the wire, without
		// stepup. The same Cookie comes in and is dropped before the
		// upstream, the same identity header goes out.
		fmt.Fprintf(&b, `	reverse_proxy 127.0.0.1:%d {
		header_up -Cookie
		header_up X-Auth-User %s
	}
}
`, upPort, benchUser)
		return b.String()
	}
	fmt.Fprintf(&b, "\treverse_proxy 127.0.0.1:%d\n}\n", upPort)
	return b.String()
}
