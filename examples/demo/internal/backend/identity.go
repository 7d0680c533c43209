package backend

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/caddy-stepup/caddy-stepup/verify"
)

// Identity is who the edge says sent the request, and how they signed in.
// It comes only from the edge's signed step-up assertion (the
// Stepup-Assertion header, checked against the keys Caddy publishes), never
// from plain headers: anything that reaches the backend without passing
// Caddy can set a header, but cannot sign an assertion.
type Identity struct {
	User     string         `json:"user"`
	ACR      string         `json:"acr"`
	AMR      []string       `json:"amr"`
	AuthTime time.Time      `json:"auth_time"`
	Rule     string         `json:"rule"`
	Claims   *verify.Claims `json:"-"`
}

// Audience is the aud the demo's Caddyfile puts in every assertion.
const Audience = "demo-app"

func identityFrom(c *verify.Claims) *Identity {
	id := &Identity{User: c.Subject, ACR: c.ACR, AMR: c.AMR, Rule: c.Rule, Claims: c}
	if c.AuthTime != 0 {
		id.AuthTime = time.Unix(c.AuthTime, 0)
	}
	return id
}

// Age is how long ago the user last authenticated at the IdP.
func (id *Identity) Age(now time.Time) time.Duration {
	if id == nil || id.AuthTime.IsZero() {
		return 0
	}
	return now.Sub(id.AuthTime).Round(time.Second)
}

// EdgeClient fetches the edge's JWKS over HTTPS, trusting the CA in the
// PEM file rootCA. Caddy creates its local CA when it starts, after the
// backend, so the file is read on first use.
func EdgeClient(rootCA string) *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &lazyCATransport{file: rootCA}}
}

type lazyCATransport struct {
	file string
	once sync.Once
	rt   http.RoundTripper
	err  error
}

func (t *lazyCATransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.once.Do(func() {
		pem, err := os.ReadFile(t.file)
		if err != nil {
			t.err = err
			return
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			t.err = errors.New("no certificate in " + t.file)
			return
		}
		t.rt = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	})
	if t.err != nil {
		return nil, t.err
	}
	return t.rt.RoundTrip(r)
}
