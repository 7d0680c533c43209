package integration

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/caddyproc"
)

// rawRequest sends request bytes verbatim to Caddy over TLS and returns the
// answer, for request targets and headers that net/http would normalise.
func rawRequest(t *testing.T, c *caddyproc.Caddy, req string) (*http.Response, string) {
	t.Helper()
	tlsCfg := c.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	tlsCfg.ServerName = "localhost"
	tlsCfg.NextProtos = []string{"http/1.1"}
	conn, err := tls.Dial("tcp", fmt.Sprintf("localhost:%d", c.Port()), tlsCfg)
	if err != nil {
		t.Fatalf("raw request: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatalf("raw request: write: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("raw request: read: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

// rawGET is a GET for target (sent as is) with extra header lines.
func rawGET(t *testing.T, c *caddyproc.Caddy, target string, headers ...string) (*http.Response, string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: localhost:%d\r\nAccept: application/json\r\nConnection: close\r\n", target, c.Port())
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("\r\n")
	return rawRequest(t, c, b.String())
}

// normalisedPath is how a lenient upstream might resolve p: decoded, case
// folded, dot segments removed, slashes merged (Caddy's own normalisation).
func normalisedPath(p string) string {
	if d, err := url.PathUnescape(p); err == nil {
		p = d
	}
	p = strings.ToLower(p)
	for strings.Contains(p, "//") {
		p = strings.ReplaceAll(p, "//", "/")
	}
	clean := path.Clean("/" + p)
	if strings.HasSuffix(p, "/") && clean != "/" {
		clean += "/"
	}
	return clean
}
