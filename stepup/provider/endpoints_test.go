package provider

import (
	"strings"
	"testing"
)

func TestDiscoveryEndpointsMustBeHTTPSUnlessLoopbackDevelopment(t *testing.T) {
	https := map[string]string{
		"authorization_endpoint": "https://idp.example/auth",
		"token_endpoint":         "https://idp.example/token",
		"jwks_uri":               "https://idp.example/jwks",
	}
	with := func(field, value string) map[string]string {
		m := map[string]string{}
		for k, v := range https {
			m[k] = v
		}
		m[field] = value
		return m
	}
	for _, tc := range []struct {
		name      string
		endpoints map[string]string
		loopback  bool
		wantErr   string
	}{
		{"all https", https, false, ""},
		{"plain-HTTP jwks_uri", with("jwks_uri", "http://idp.example/jwks"), false, "jwks_uri"},
		{"plain-HTTP token_endpoint", with("token_endpoint", "http://idp.example/token"), false, "token_endpoint"},
		{"plain-HTTP authorization_endpoint", with("authorization_endpoint", "http://idp.example/auth"), false, "authorization_endpoint"},
		{"plain-HTTP loopback jwks_uri without the option", with("jwks_uri", "http://127.0.0.1:4444/jwks"), false, "jwks_uri"},
		{"plain-HTTP loopback jwks_uri with the option", with("jwks_uri", "http://127.0.0.1:4444/jwks"), true, ""},
		{"plain-HTTP remote jwks_uri with the option", with("jwks_uri", "http://idp.example/jwks"), true, "jwks_uri"},
		{"missing jwks_uri", with("jwks_uri", ""), false, "jwks_uri"},
		{"relative jwks_uri", with("jwks_uri", "/jwks"), false, "jwks_uri"},
		{"other scheme", with("token_endpoint", "ftp://idp.example/token"), false, "token_endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkEndpointSchemes(tc.loopback, tc.endpoints)
			if tc.wantErr == "" && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if tc.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.wantErr)) {
				t.Fatalf("got %v, want an error about %s", err, tc.wantErr)
			}
		})
	}
}
