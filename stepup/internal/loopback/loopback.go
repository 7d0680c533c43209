// Package loopback says whether a host is this machine, for the one
// development option (insecure_loopback_http) that relaxes https on it.
// The issuer check, the IdP's endpoints and our cookies all ask it.
package loopback

import (
	"net"
	"strings"
)

// Host reports whether host (no port) is localhost or a loopback address.
func Host(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// HostPort is Host for a Host header, port or not.
func HostPort(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
	}
	return Host(host)
}
