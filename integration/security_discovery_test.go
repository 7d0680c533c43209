package integration

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/caddyproc"
	"github.com/caddy-stepup/caddy-stepup/internal/rogueop"
)

// An https issuer whose discovery document points the back channel at plain
// HTTP (keys, token endpoint) would have the signing keys and the client
// secret travel unprotected: discovery is refused, so a login is answered
// with the IdP-unavailable 503, unless insecure_loopback_http is on and the
// endpoint is on loopback (local development).

func TestSecurityHTTPSIssuerWithPlainHTTPEndpointsIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name     string
		field    string // discovery field made plain HTTP; "" for the control
		loopback bool   // insecure_loopback_http on
		refused  bool
	}{
		{"ControlAllHTTPSLogsIn", "", false, false},
		{"PlainHTTPJWKSURIIsRefused", "jwks_uri", false, true},
		{"PlainHTTPTokenEndpointIsRefused", "token_endpoint", false, true},
		{"PlainHTTPAuthorizationEndpointIsRefused", "authorization_endpoint", false, true},
		{"PlainHTTPLoopbackJWKSURIIsAllowedForLocalDevelopment", "jwks_uri", true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := rogueop.Start(t, rogueop.Options{ClientID: edgeClientID, ClientSecret: edgeSecret, TLS: true,
				EditDiscovery: func(doc map[string]any) {
					if tc.field != "" {
						doc[tc.field] = strings.Replace(doc[tc.field].(string), "https://", "http://", 1)
					}
				}})
			if !strings.HasPrefix(op.Issuer(), "https://") {
				t.Fatalf("the provider's issuer %q is not https", op.Issuer())
			}
			roots := filepath.Join(t.TempDir(), "op.pem")
			if err := os.WriteFile(roots, op.CertPEM(), 0o600); err != nil {
				t.Fatal(err)
			}
			site := siteConfig(op.Issuer(), startRecordingUpstream(t).URL, "")
			if !tc.loopback {
				site = dropLine(site, "insecure_loopback_http")
			}
			c := caddyproc.Start(t, caddyproc.Options{
				Site: site,
				// Caddy trusts the provider's certificate as Go programs do.
				Env: []string{"STEPUP_TEST_SECRET=" + edgeSecret, "SSL_CERT_FILE=" + roots},
			})
			mark := logMark(c)
			resp, err := c.Client().Do(navigation(mustParse(t, c.URL()+"/admin")))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if !tc.refused {
				if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, op.Issuer()+"/authorize?") && !strings.HasPrefix(loc, strings.Replace(op.Issuer(), "https", "http", 1)+"/authorize?") {
					t.Fatalf("got %d to %q, want a redirect to the provider", resp.StatusCode, loc)
				}
				return
			}
			if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("got %d (Location %q), want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Location"))
			}
			waitLogEntry(t, c, mark, logQuery{msg: "identity provider unavailable; protected request refused", field: "error", substr: tc.field})
			if n := len(op.Authorizations()); n != 0 {
				t.Errorf("the browser was sent to the provider %d times", n)
			}
		})
	}
}
