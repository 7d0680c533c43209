package stepup

import (
	"net/http"
	"net/netip"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// clientIP is Caddy's client_ip: the remote address, or the forwarded one
// when the connection comes from a trusted proxy. Never a raw header.
func clientIP(r *http.Request) netip.Addr {
	s, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
	ip, err := netip.ParseAddr(s)
	if err != nil {
		if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
			return ap.Addr()
		}
	}
	return ip
}

// platformHint is the Sec-CH-UA-Platform client hint. The header map is
// read with the canonical key: Header.Get("Sec-CH-UA-Platform") would
// canonicalise, and allocate, on every request.
func platformHint(r *http.Request) string {
	if v := r.Header["Sec-Ch-Ua-Platform"]; len(v) > 0 {
		return v[0]
	}
	return ""
}
