package stepup

import (
	"crypto/fips140"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// headerNamePattern is an HTTP field name (RFC 9110 token), bounded.
var headerNamePattern = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$")

// AssertionConfig makes stepup sign what it decided: every request that
// passes with an identity carries a short-lived JWS (ES256, typ
// `stepup-assertion+jwt`) that upstreams verify against the keys the
// handler publishes, instead of trusting plain identity headers. See
// SECURITY.md and the verify module for the claims and how to check them.
type AssertionConfig struct {
	// Header is the request header that carries the assertion upstream.
	// Any client-supplied copy is deleted first. Default: `Stepup-Assertion`.
	Header string `json:"header,omitempty"`

	// Lifetime is how long an assertion is valid after it was issued,
	// between 1s and 1m. An assertion is reused for the same session, rule
	// and request target while at least half of its lifetime is left, so
	// every upstream receives one valid for at least half of this; a reuse
	// close to that point re-signs it in the background. Default: 30s.
	Lifetime caddy.Duration `json:"lifetime,omitempty"`

	// Audience is the `aud` claim: who the assertion is for, typically the
	// upstream's name or URL. Required.
	Audience string `json:"audience,omitempty"`

	// Issuer is the `iss` claim. Default: the site's origin as the request
	// reached it, e.g. `https://app.example.com`.
	Issuer string `json:"issuer,omitempty"`

	// JWKSPath is where the handler serves the public keys as a JWKS
	// document, whatever the rules match. Default:
	// `/.well-known/stepup-jwks.json`.
	JWKSPath string `json:"jwks_path,omitempty"`

	// KeyRotation is how often a new signing key is created in Caddy's
	// storage, at least 10s. A new key is published up to 10 minutes (a
	// quarter of the rotation, if shorter) before it signs; a retired key
	// stays published until every assertion it signed has expired.
	// Default: 24h.
	KeyRotation caddy.Duration `json:"key_rotation,omitempty"`

	// DisableNoncePool makes every signature on the request that needs it
	// whole (RFC 6979 nonce, about 27 µs of CPU an assertion) instead of
	// finishing one whose expensive half was made ahead of time (about
	// 4 µs). Turn the pool off where a running instance may be copied (a
	// VM or container snapshot restored while the original runs, or
	// restored more than once): two copies could sign with the same pooled
	// nonce, which reveals the signing key. FIPS 140 mode
	// (GODEBUG=fips140=on) turns it off too. Default: the pool is on.
	DisableNoncePool bool `json:"disable_nonce_pool,omitempty"`
}

// Assertion defaults and bounds.
const (
	defaultAssertionHeader   = "Stepup-Assertion"
	defaultAssertionLifetime = 30 * time.Second
	defaultAssertionJWKSPath = "/.well-known/stepup-jwks.json"
	defaultAssertionRotation = 24 * time.Hour
	minAssertionLifetime     = time.Second
	maxAssertionLifetime     = time.Minute
	minAssertionRotation     = 10 * time.Second
)

// assertionMediaType is the JWS `typ`: a verifier that checks it never
// mistakes an assertion for an ID or access token signed by the same keys
// (RFC 8725, section 3.11).
const assertionMediaType = "stepup-assertion+jwt"

// asserter signs assertions for one handler.
type asserter struct {
	header   string // canonical
	audience string
	issuer   string // "" = the request's origin
	jwksPath string
	lifetime time.Duration
	keys     *assertionKeys
	cache    *assertionCache
	now      func() time.Time
	insecure bool // insecure_loopback_http: plain-HTTP origins

	refresher *refresher     // the background worker: re-signs, fills nonces
	nonces    *noncePool     // signatures' nonces made ahead of time; nil: off
	slots     chan struct{}  // assertionRefreshSlots; tests use their own
	inflight  sync.WaitGroup // background re-signings queued or running
	signed    atomic.Uint64  // signatures made, inline or in the background
	pooled    atomic.Uint64  // of them, made with a nonce from the pool
	refreshed atomic.Uint64  // entries replaced by a background re-signing
}

func (c *AssertionConfig) applyDefaults() {
	if c.Header == "" {
		c.Header = defaultAssertionHeader
	}
	if c.Lifetime == 0 {
		c.Lifetime = caddy.Duration(defaultAssertionLifetime)
	}
	if c.JWKSPath == "" {
		c.JWKSPath = defaultAssertionJWKSPath
	}
	if c.KeyRotation == 0 {
		c.KeyRotation = caddy.Duration(defaultAssertionRotation)
	}
}

// validate names the field and the fix of every error.
func (c *AssertionConfig) validate() error {
	if c.Audience == "" {
		return errors.New("assertion audience: required (who the assertion is for, e.g. the upstream's URL)")
	}
	if strings.ContainsAny(c.Audience, "\"\\") || strings.ContainsAny(c.Issuer, "\"\\") {
		return errors.New("assertion audience, issuer: must not contain quotes or backslashes")
	}
	if !headerNamePattern.MatchString(c.Header) {
		return fmt.Errorf("assertion header: %q is not an HTTP header name", c.Header)
	}
	if d := time.Duration(c.Lifetime); d < minAssertionLifetime || d > maxAssertionLifetime {
		return fmt.Errorf("assertion lifetime: %s must be between %s and %s", d, minAssertionLifetime, maxAssertionLifetime)
	}
	if d := time.Duration(c.KeyRotation); d < minAssertionRotation {
		return fmt.Errorf("assertion key_rotation: %s is shorter than %s", d, minAssertionRotation)
	}
	if !strings.HasPrefix(c.JWKSPath, "/") || strings.ContainsAny(c.JWKSPath, "?# \t") {
		return fmt.Errorf("assertion jwks_path: %q must be a plain absolute path such as %s", c.JWKSPath, defaultAssertionJWKSPath)
	}
	return nil
}

// provisionAssertion sets up signing when the assertion block is present.
// Keys are loaded on first use, not here. It runs last in Provision, with
// the clock, storage and header lists ready.
func (h *Handler) provisionAssertion() {
	h.asserter = nil
	c := h.Assertion
	if c == nil {
		return
	}
	c.applyDefaults()
	lifetime := time.Duration(c.Lifetime)
	h.asserter = &asserter{
		header:    http.CanonicalHeaderKey(c.Header),
		audience:  c.Audience,
		issuer:    c.Issuer,
		jwksPath:  c.JWKSPath,
		lifetime:  lifetime,
		keys:      h.provisionAssertionKeys(time.Duration(c.KeyRotation), lifetime),
		cache:     newAssertionCache(assertionCacheSize),
		now:       h.now,
		insecure:  h.InsecureLoopbackHTTP,
		refresher: newRefresher(lifetime),
		slots:     assertionRefreshSlots,
	}
	// In FIPS 140 mode every signature comes from crypto/ecdsa, the
	// validated module, never from the pool's own arithmetic.
	if !c.DisableNoncePool && !fips140.Enabled() {
		h.asserter.nonces = newNoncePool()
	}
	// A client must never be able to hand the upstream an assertion, not
	// even under a CGI look-alike name.
	h.stripHeaders = append(h.stripHeaders, h.asserter.header)
	h.stripFolded[foldHeaderName(h.asserter.header)] = true
}

// validateAssertion checks the assertion block and that its path does not
// shadow one of the handler's own endpoints.
func (h *Handler) validateAssertion() error {
	if h.Assertion == nil {
		return nil
	}
	if err := h.Assertion.validate(); err != nil {
		return err
	}
	switch h.Assertion.JWKSPath {
	case h.CallbackPath, h.LoginPath, h.LogoutPath:
		return fmt.Errorf("assertion jwks_path: %q is already the callback, login or logout path; pick another", h.Assertion.JWKSPath)
	}
	return nil
}
