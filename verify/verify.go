// Package verify checks the signed step-up assertions that the caddy-stepup
// plugin adds to the requests it lets through, so that an upstream service
// trusts what the edge decided only when the edge's signature says so, not
// because a plain header claims it.
//
// An assertion is a compact JWS (ES256, typ `stepup-assertion+jwt`) whose
// keys the edge publishes as a JWKS document (by default at
// `/.well-known/stepup-jwks.json`). It is valid for seconds and bound to one
// request target: its `htm` and `htu` claims name the method and the URL
// (without query) it was issued for, as in DPoP (RFC 9449).
//
//	v, err := verify.New(verify.Options{
//		JWKSURL:  "https://app.example.com/.well-known/stepup-jwks.json",
//		Issuer:   "https://app.example.com",
//		Audience: "https://backend.internal",
//	})
//	...
//	http.ListenAndServe(addr, v.Middleware(mux)) // 401 without a valid assertion
//
// Handlers read the verified claims with FromContext. This package depends
// on go-jose only; it does not import Caddy.
package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// MediaType is the `typ` header of every assertion. Checking it keeps a
// token of another kind signed by the same keys from passing as one.
const MediaType = "stepup-assertion+jwt"

// DefaultHeader is the request header the edge puts the assertion in.
const DefaultHeader = "Stepup-Assertion"

// maxTokenLen refuses absurd inputs before any parsing.
const maxTokenLen = 8192

// Claims are an assertion's verified claims.
type Claims struct {
	Issuer   string   `json:"iss"`
	Audience string   `json:"aud"`
	Subject  string   `json:"sub"`
	ACR      string   `json:"acr,omitempty"`
	AMR      []string `json:"amr,omitempty"`
	// AuthTime is when the user last authenticated at the identity
	// provider, in unix seconds (0 when the provider did not say).
	AuthTime int64 `json:"auth_time,omitempty"`
	// Rule is the edge rule that matched the request.
	Rule string `json:"rule"`
	// RiskScore is the edge's risk score, when its risk engine is on.
	RiskScore *int `json:"risk_score,omitempty"`
	// ReportOnly is true when the request passed only because the rule is
	// in report-only mode; the session may not meet it.
	ReportOnly bool   `json:"report_only,omitempty"`
	Method     string `json:"htm"`
	URL        string `json:"htu"`
	IssuedAt   int64  `json:"iat"`
	Expires    int64  `json:"exp"`
}

// Options configure a Verifier.
type Options struct {
	// JWKSURL is where the edge publishes its keys. Required.
	JWKSURL string
	// Issuer is the expected `iss`: the site's origin, or the edge's
	// configured issuer. Required.
	Issuer string
	// Audience is the expected `aud`: this service. Required.
	Audience string
	// Origin is the scheme and host clients use to reach the site, which
	// the `htu` claim starts with. Default: Issuer.
	Origin string
	// Header carries the assertion. Default: DefaultHeader.
	Header string
	// Leeway tolerates clocks that disagree. Default: 5s.
	Leeway time.Duration
	// Client fetches the JWKS. Default: a client with a 10s timeout.
	Client *http.Client
	// MinRefresh is how often, at most, an unknown key id makes the JWKS
	// be fetched again. Default: 10s.
	MinRefresh time.Duration
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// Verifier checks assertions. It is safe for concurrent use.
type Verifier struct {
	opts Options
	keys *keyCache
}

// Errors a failed verification wraps, for callers that tell them apart.
var (
	ErrMissing    = errors.New("no step-up assertion")
	ErrMalformed  = errors.New("malformed step-up assertion")
	ErrSignature  = errors.New("step-up assertion signature does not verify")
	ErrUnknownKey = errors.New("step-up assertion signed by an unknown key")
	ErrClaims     = errors.New("step-up assertion claims refused")
)

// New returns a Verifier. It does no network I/O; keys are fetched on first
// use.
func New(opts Options) (*Verifier, error) {
	if opts.JWKSURL == "" || opts.Issuer == "" || opts.Audience == "" {
		return nil, errors.New("verify: JWKSURL, Issuer and Audience are required")
	}
	if _, err := url.Parse(opts.JWKSURL); err != nil {
		return nil, fmt.Errorf("verify: JWKSURL: %w", err)
	}
	if opts.Origin == "" {
		opts.Origin = opts.Issuer
	}
	opts.Origin = strings.TrimSuffix(opts.Origin, "/")
	if opts.Header == "" {
		opts.Header = DefaultHeader
	}
	if opts.Leeway == 0 {
		opts.Leeway = 5 * time.Second
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if opts.MinRefresh == 0 {
		opts.MinRefresh = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Verifier{opts: opts, keys: &keyCache{url: opts.JWKSURL, client: opts.Client, now: opts.Now, minRefresh: opts.MinRefresh}}, nil
}

// VerifyRequest verifies the assertion r carries, bound to r's method and
// path.
func (v *Verifier) VerifyRequest(r *http.Request) (*Claims, error) {
	values := r.Header.Values(v.opts.Header)
	if len(values) != 1 || values[0] == "" {
		return nil, ErrMissing
	}
	return v.Verify(r.Context(), values[0], r.Method, v.opts.Origin+r.URL.EscapedPath())
}

// Verify checks token's signature against the published keys, its type,
// issuer, audience and validity period, and that it was issued for method
// and htu (the request URL without query).
func (v *Verifier) Verify(ctx context.Context, token, method, htu string) (*Claims, error) {
	jws, kid, err := parse(token)
	if err != nil {
		return nil, err
	}
	key, err := v.keys.key(ctx, kid)
	if err != nil {
		return nil, err
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, ErrSignature
	}
	var c Claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	if err := v.check(&c, method, htu); err != nil {
		return nil, err
	}
	return &c, nil
}

// parse reads a compact ES256 JWS with the assertion media type and a key id.
func parse(token string) (*jose.JSONWebSignature, string, error) {
	if token == "" || len(token) > maxTokenLen {
		return nil, "", ErrMalformed
	}
	jws, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, "", ErrMalformed
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != MediaType {
		return nil, "", fmt.Errorf("%w: typ %q is not %s", ErrMalformed, typ, MediaType)
	}
	if h.KeyID == "" {
		return nil, "", fmt.Errorf("%w: no kid", ErrMalformed)
	}
	return jws, h.KeyID, nil
}

func (v *Verifier) check(c *Claims, method, htu string) error {
	now := v.opts.Now()
	switch {
	case c.Issuer != v.opts.Issuer:
		return fmt.Errorf("%w: issuer %q", ErrClaims, c.Issuer)
	case c.Audience != v.opts.Audience:
		return fmt.Errorf("%w: audience %q", ErrClaims, c.Audience)
	case c.Subject == "":
		return fmt.Errorf("%w: no subject", ErrClaims)
	case c.Expires == 0 || !now.Before(time.Unix(c.Expires, 0).Add(v.opts.Leeway)):
		return fmt.Errorf("%w: expired", ErrClaims)
	case time.Unix(c.IssuedAt, 0).After(now.Add(v.opts.Leeway)):
		return fmt.Errorf("%w: issued in the future", ErrClaims)
	case c.Method != method || c.URL != htu:
		return fmt.Errorf("%w: issued for another request", ErrClaims)
	}
	return nil
}

type ctxKey struct{}

// Middleware refuses, with 401, requests without a valid assertion and
// hands the others to next with the claims in their context.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := v.VerifyRequest(r)
		if err != nil {
			status := http.StatusUnauthorized
			if errors.Is(err, errKeysUnavailable) {
				status = http.StatusServiceUnavailable
			}
			http.Error(w, http.StatusText(status), status)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, c)))
	})
}

// FromContext returns the claims Middleware verified.
func FromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(ctxKey{}).(*Claims)
	return c, ok
}
