package integration

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/caddyproc"
	"github.com/caddy-stepup/caddy-stepup/internal/rogueop"
)

// insecure_loopback_http relaxes cookies (no Secure, no __Host-/__Secure-
// prefixes) and builds http:// redirect URIs only for a loopback site. A
// site that also answers plain HTTP under a real name keeps Secure,
// prefixed cookies and an https redirect URI, so the development option
// cannot leak a flow or session cookie over plain HTTP.

func TestSecurityInsecureLoopbackHTTPRelaxesOnlyLoopbackSites(t *testing.T) {
	op := rogueop.Start(t, rogueop.Options{ClientID: edgeClientID, ClientSecret: edgeSecret})
	up := startRecordingUpstream(t)
	port := caddyproc.ReservePort(t)
	caddyproc.Start(t, caddyproc.Options{
		Site:  siteConfig(op.Issuer(), up.URL, ""),
		Extra: fmt.Sprintf("http://:%d {\n%s\n}", port, siteConfig(op.Issuer(), up.URL, "")),
		Env:   []string{"STEPUP_TEST_SECRET=" + edgeSecret},
	})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		host       string
		plain      bool // the relaxed, development form
		wantScheme string
	}{
		{"app.example.test", false, "https"},
		{"203.0.113.9", false, "https"},
		{"127.0.0.1", true, "http"},
		{"localhost", true, "http"},
		{"[::1]", true, "http"},
	} {
		t.Run(tc.host, func(t *testing.T) {
			host := fmt.Sprintf("%s:%d", tc.host, port)
			req := navigation(mustParse(t, fmt.Sprintf("http://127.0.0.1:%d/admin", port)))
			req.Host = host
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc, err := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), op.Issuer()+"/authorize?") {
				t.Fatalf("got %d to %q, want a redirect to the provider", resp.StatusCode, resp.Header.Get("Location"))
			}
			if got, want := loc.Query().Get("redirect_uri"), tc.wantScheme+"://"+host+callbackPath; got != want {
				t.Errorf("redirect_uri = %q, want %q", got, want)
			}
			var flow *http.Cookie
			for _, c := range resp.Cookies() {
				if c.Path == callbackPath && strings.Contains(c.Name, "stepup_flow_") {
					flow = c
				}
			}
			switch {
			case flow == nil:
				t.Fatalf("no flow cookie set: %q", resp.Header.Values("Set-Cookie"))
			case tc.plain && (flow.Secure || strings.HasPrefix(flow.Name, "__")):
				t.Errorf("a loopback development site got %s Secure=%v, want the plain form", flow.Name, flow.Secure)
			case !tc.plain && (!flow.Secure || !strings.HasPrefix(flow.Name, flowCookiePrefix)):
				t.Errorf("a plain-HTTP request for %s got flow cookie %s Secure=%v, want %s… Secure", tc.host, flow.Name, flow.Secure, flowCookiePrefix)
			}
		})
	}
}
