package provider

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Once discovery has succeeded, a login needs no back-channel call until
// the callback: the browser is simply redirected to the IdP. An IdP that
// died after that would get every browser sent to a connection error. So
// the provider client tracks the IdP's health after discovery, from the
// outcome of every back-channel call (token, JWKS, discovery) and from a
// cheap probe, and a request that would start a login while the IdP is
// down is answered 503 with Retry-After like an IdP that was down from the
// start.
//
// The probe is one GET of the discovery document, made by the request that
// finds it due: at most one per health_check_interval while the IdP is up
// and no other call showed it alive, and at most one per backoff step while
// it is down. Never one per request.

// Default and bounds of health_check_interval.
const (
	DefaultHealthCheckInterval = 10 * time.Second
	MinHealthCheckInterval     = time.Second
	healthProbeTimeout         = 3 * time.Second
)

// health is what the client knows of the IdP's health after discovery.
type health struct {
	mu       sync.Mutex
	every    time.Duration // probe when no call succeeded for this long
	lastOK   time.Time     // latest back-channel answer that was not a failure
	down     bool
	failures int       // consecutive failures while down
	nextTry  time.Time // while down: no probe before this
	lastErr  error
	probing  bool
}

// SetHealthInterval sets how often a quiet IdP is probed (the latest
// config's health_check_interval; the client is shared across reloads).
func (c *Client) SetHealthInterval(d time.Duration) {
	c.health.mu.Lock()
	defer c.health.mu.Unlock()
	c.health.every = d
}

// report records the outcome of one back-channel call. Before discovery
// has succeeded, discovery's own backoff is in charge.
func (c *Client) report(err error) {
	c.mu.Lock()
	discovered := c.found != nil
	c.mu.Unlock()
	if !discovered {
		return
	}
	h := &c.health
	h.mu.Lock()
	defer h.mu.Unlock()
	now := c.now()
	if err == nil {
		h.lastOK, h.down, h.failures, h.lastErr = now, false, 0, nil
		return
	}
	h.down = true
	h.failures++
	h.nextTry = now.Add(min(minBackoff<<min(h.failures-1, 10), MaxBackoff))
	h.lastErr = err
}

// ForLogin returns the discovered provider for a request that is about to
// send the browser to the IdP, or *Unavailable when the IdP is known to be
// down (or a due probe finds it so).
func (c *Client) ForLogin(ctx context.Context) (*Discovery, error) {
	d, err := c.Discover(ctx)
	if err != nil {
		return nil, err
	}
	h := &c.health
	h.mu.Lock()
	now := c.now()
	if h.lastOK.IsZero() {
		h.lastOK = now // discovery just succeeded, or the client was shared before health was tracked
	}
	switch {
	case h.down && now.Before(h.nextTry):
		err := &Unavailable{RetryAfter: h.nextTry.Sub(now), Cause: h.lastErr}
		h.mu.Unlock()
		return nil, err
	case h.down:
		// This request probes; hold the others off meanwhile.
		h.nextTry = now.Add(healthProbeTimeout)
	case h.probing || now.Sub(h.lastOK) < h.every:
		h.mu.Unlock()
		return d, nil
	}
	h.probing = true
	h.mu.Unlock()

	c.probe(ctx)

	h.mu.Lock()
	defer h.mu.Unlock()
	h.probing = false
	if h.down {
		return nil, &Unavailable{RetryAfter: max(h.nextTry.Sub(c.now()), minBackoff), Cause: h.lastErr}
	}
	return d, nil
}

// probe fetches the discovery document once; healthTransport records the
// outcome.
func (c *Client) probe(parent context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), healthProbeTimeout)
	defer cancel()
	u := strings.TrimSuffix(c.key.Issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(withEndpoint(ctx, "discovery"), http.MethodGet, u, nil)
	if err != nil {
		c.report(err)
		return
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return // already reported by the transport
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
