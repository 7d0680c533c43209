package provider

import (
	"fmt"
	"net/url"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/loopback"
)

// checkEndpointSchemes refuses a discovery document whose endpoints would
// be reached over plain HTTP: the keys that verify every token (jwks_uri),
// the code and client secret (token_endpoint) and the login itself
// (authorization_endpoint) would travel unprotected even though the issuer
// is https. Plain HTTP is allowed only on a loopback host, and only under
// insecure_loopback_http (local development).
func checkEndpointSchemes(loopbackHTTP bool, endpoints map[string]string) error {
	for _, name := range []string{"authorization_endpoint", "token_endpoint", "jwks_uri"} {
		if err := checkEndpointScheme(loopbackHTTP, endpoints[name]); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func checkEndpointScheme(loopbackHTTP bool, endpoint string) error {
	u, err := url.Parse(endpoint)
	switch {
	case err != nil || endpoint == "" || u.Host == "":
		return fmt.Errorf("%q is not an absolute URL", endpoint)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && loopbackHTTP && loopback.Host(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("%q is plain HTTP; the IdP must publish https endpoints (plain HTTP is accepted only on loopback with insecure_loopback_http)", endpoint)
	}
	return fmt.Errorf("%q must be https", endpoint)
}
