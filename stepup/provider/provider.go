// Package provider is stepup's client of one OpenID Provider: discovery,
// the signing keys and their refresh policy, the authorization request, the
// code exchange, and the verification of ID, access and logout tokens.
// It also tracks the provider's health, so that a login is refused with 503
// instead of sending browsers to a provider that is down.
package provider

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/oauth2"
)

// Key identifies a shared Client; configs that differ in LoopbackHTTP do
// not share one, since it judges discovery.
type Key struct {
	Issuer   string
	ClientID string
	// LoopbackHTTP accepts plain-HTTP endpoints on loopback hosts
	// (insecure_loopback_http); otherwise discovery refuses them.
	LoopbackHTTP bool
}

// String is the key's name in Caddy usage pools.
func (k Key) String() string {
	return fmt.Sprintf("%s\x00%s\x00%t", k.Issuer, k.ClientID, k.LoopbackHTTP)
}

// Options are a Client's dependencies.
type Options struct {
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Latency, if set, observes every call to the provider, labelled by
	// endpoint (discovery, token, jwks).
	Latency *prometheus.HistogramVec
	// Transport carries the calls to the provider; nil is a transport with
	// connect and header timeouts.
	Transport http.RoundTripper
}

// clients holds discovered OpenID Providers across config reloads, so a
// reload neither re-runs discovery nor drops the cached signing keys.
var clients = caddy.NewUsagePool()

// Client is one OpenID Provider as seen by this relying party. Discovery
// is lazy: creating a Client does no I/O, and a provider that is down at
// start delays only the requests that need it.
type Client struct {
	key  Key
	http *http.Client
	now  func() time.Time

	mu        sync.Mutex
	found     *Discovery
	failures  int
	nextTry   time.Time
	lastError error

	health health // after discovery (health.go)
}

// Load returns the Client shared by every config naming k, creating it on
// first use (then with o). Release it with Release(k).
func Load(k Key, o Options) (*Client, error) {
	v, _, err := clients.LoadOrNew(k.String(), func() (caddy.Destructor, error) {
		return New(k, o), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Client), nil
}

// Release drops one config's use of the shared Client for k.
func Release(k Key) error {
	_, err := clients.Delete(k.String())
	return err
}

// New returns a Client of its own, not shared with other configs.
func New(k Key, o Options) *Client {
	if o.Now == nil {
		o.Now = time.Now
	}
	c := &Client{key: k, now: o.Now, health: health{every: DefaultHealthCheckInterval}}
	c.http = newHTTPClient(o.Transport, o.Latency)
	c.http.Transport = healthTransport{next: c.http.Transport, c: c}
	return c
}

// Destruct implements caddy.Destructor; idle connections are closed when the
// last config using this provider is unloaded.
func (c *Client) Destruct() error {
	c.http.CloseIdleConnections()
	return nil
}

// ctx returns a context that makes go-oidc and oauth2 use our HTTP client.
func (c *Client) ctx(parent context.Context) context.Context {
	ctx := oidc.ClientContext(parent, c.http)
	return context.WithValue(ctx, oauth2.HTTPClient, c.http)
}

// Unavailable means the provider could not be reached; callers answer 503
// with Retry-After and never let the request through.
type Unavailable struct {
	RetryAfter time.Duration
	Cause      error
}

func (e *Unavailable) Error() string {
	return fmt.Sprintf("identity provider unavailable (retry in %s): %v", e.RetryAfter.Round(time.Second), e.Cause)
}

func (e *Unavailable) Unwrap() error { return e.Cause }

// IsUnavailable reports whether err means the provider could not be
// reached, and how long a client should wait.
func IsUnavailable(err error) (time.Duration, bool) {
	var u *Unavailable
	if errors.As(err, &u) {
		return max(u.RetryAfter, minBackoff), true
	}
	return 0, false
}

// Backoff bounds for discovery retries.
const (
	discoveryTimeout = 10 * time.Second
	minBackoff       = time.Second
	// MaxBackoff is the longest a failing provider is left alone.
	MaxBackoff = time.Minute
)

// Discover returns the discovered provider, running discovery when due.
// While the provider is failing it answers *Unavailable without network
// I/O until the backoff expires, so an outage cannot pile up blocked
// requests.
func (c *Client) Discover(ctx context.Context) (*Discovery, error) {
	c.mu.Lock()
	if c.found != nil {
		d := c.found
		c.mu.Unlock()
		return d, nil
	}
	now := c.now()
	if now.Before(c.nextTry) {
		err := &Unavailable{RetryAfter: c.nextTry.Sub(now), Cause: c.lastError}
		c.mu.Unlock()
		return nil, err
	}
	// Hold others off for the duration of this attempt.
	c.nextTry = now.Add(discoveryTimeout)
	c.mu.Unlock()

	d, err := c.discover(ctx)

	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.failures++
		backoff := min(minBackoff<<min(c.failures-1, 10), MaxBackoff)
		c.nextTry = c.now().Add(backoff)
		c.lastError = err
		return nil, &Unavailable{RetryAfter: backoff, Cause: err}
	}
	c.found, c.failures, c.lastError = d, 0, nil
	return d, nil
}

// Static returns a Client that is already discovered, whose tokens are
// verified with keys and whose endpoints are never called: for tests of
// callers, which need tokens verified without an IdP to run. algs are the
// signing algorithms the provider would advertise (nil: every one we
// accept).
func Static(k Key, keys oidc.KeySet, algs []string, now func() time.Time) *Client {
	c := New(k, Options{Now: now})
	c.found = newDiscovery(k, keys, now, nil, discoveredMetadata{SigningAlgs: algs})
	return c
}
