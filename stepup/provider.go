package stepup

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// ProviderConfig names the OpenID Provider that performs logins.
type ProviderConfig struct {
	// Issuer is the OpenID Provider's issuer URL; discovery reads
	// `<issuer>/.well-known/openid-configuration`. Must be https (see
	// `insecure_loopback_http` for local development).
	Issuer string `json:"issuer"`

	// ClientID is this relying party's client identifier at the IdP.
	ClientID string `json:"client_id"`

	// ClientSecret authenticates the client at the token endpoint. Use a
	// placeholder such as `{env.STEPUP_CLIENT_SECRET}` or `{file./run/secret}`
	// so the secret never sits in the config.
	ClientSecret string `json:"client_secret,omitempty"`

	// Scopes requested at login. `openid` is always included.
	// Default: `openid`.
	Scopes []string `json:"scopes,omitempty"`

	// HealthCheckInterval is how long the IdP may go without a successful
	// back-channel call (discovery, token, JWKS) before the next login
	// first checks it is alive, with one GET of its discovery document.
	// While it is down, logins are answered 503 with Retry-After instead
	// of redirecting browsers to it. At least 1s. Default: 10s.
	HealthCheckInterval caddy.Duration `json:"health_check_interval,omitempty"`

	// AuthParams are extra parameters added to every authorization request
	// (for example `ui_locales`). They cannot override the parameters
	// stepup controls (state, nonce, PKCE, acr_values, max_age, prompt, ...).
	AuthParams map[string]string `json:"auth_params,omitempty"`

	// StepUpPrompt says how a step-up makes the IdP authenticate again when
	// the user already has a weaker session there. Many OPs treat
	// `acr_values` as a hint: holding a live password session they answer
	// with it, and the step-up could never succeed.
	//
	//   - `login`: when the user's session here falls short of a rule's acr
	//     or amr, the authorization request says `prompt=login`.
	//   - `retry`: the first request sends only `acr_values` (and the
	//     essential acr claim); an OP that honours them steps the user up
	//     without a second password prompt.
	//
	// Either way, a login the OP answers below the requirement, when the
	// request did not say `prompt=login` and the answer's auth_time does not
	// clearly show a new authentication (absent, or not later than the
	// attempt's start plus 10 s of clock skew), is retried once with
	// `prompt=login`; a second weak answer is refused. `max_age 0` always
	// sends `prompt=login`.
	// Default: `login`.
	StepUpPrompt string `json:"step_up_prompt,omitempty"`
}

// step_up_prompt values.
const (
	stepUpPromptLogin = "login"
	stepUpPromptRetry = "retry"
)

// controlledParams are authorization parameters only stepup may set.
var controlledParams = map[string]bool{
	"response_type": true, "client_id": true, "redirect_uri": true, "scope": true,
	"state": true, "nonce": true, "code_challenge": true, "code_challenge_method": true,
	"acr_values": true, "max_age": true, "prompt": true, "login_hint": true, "claims": true,
}

// providers holds discovered OpenID Providers across config reloads, so a
// reload neither re-runs discovery nor drops the cached signing keys.
var providers = caddy.NewUsagePool()

// idpClient is one OpenID Provider as seen by this relying party. Discovery
// is lazy: Provision does no I/O, and an IdP that is down at start delays
// only the requests that need it.
type idpClient struct {
	issuer   string
	clientID string
	// loopbackHTTP accepts plain-HTTP endpoints on loopback hosts
	// (insecure_loopback_http); otherwise discovery refuses them.
	loopbackHTTP bool
	http         *http.Client
	now          func() time.Time

	mu        sync.Mutex
	found     *discovered
	failures  int
	nextTry   time.Time
	lastError error

	health idpHealth // after discovery (idphealth.go)
}

// discovered is what discovery yields; immutable once built.
type discovered struct {
	provider       *oidc.Provider
	idTokens       *oidc.IDTokenVerifier
	accessTokens   *oidc.IDTokenVerifier // same keys; audience checked by us
	logoutTokens   *oidc.IDTokenVerifier // same keys and audience; exp and iat checked by us
	claimsParam    bool
	endSessionURL  string
	authorizeURL   string
	tokenEndpoint  oauth2.Endpoint
	tokenAuthStyle oauth2.AuthStyle
}

// errIdPUnavailable means the provider could not be reached; callers answer
// 503 with Retry-After and never let the request through.
type errIdPUnavailable struct {
	retryAfter time.Duration
	cause      error
}

func (e *errIdPUnavailable) Error() string {
	return fmt.Sprintf("identity provider unavailable (retry in %s): %v", e.retryAfter.Round(time.Second), e.cause)
}

func (e *errIdPUnavailable) Unwrap() error { return e.cause }

// Backoff bounds for discovery retries.
const (
	discoveryTimeout = 10 * time.Second
	minBackoff       = time.Second
	maxBackoff       = time.Minute
)

// providerKey identifies a shared idpClient; configs that differ in
// insecure_loopback_http do not share one, since it judges discovery.
func providerKey(issuer, clientID string, loopbackHTTP bool) string {
	return fmt.Sprintf("%s\x00%s\x00%t", issuer, clientID, loopbackHTTP)
}

// loadIdPClient returns the shared client for issuer and clientID,
// creating it on first use. The caller must release it with providers.Delete.
func loadIdPClient(issuer, clientID string, loopbackHTTP bool, now func() time.Time) (*idpClient, error) {
	v, _, err := providers.LoadOrNew(providerKey(issuer, clientID, loopbackHTTP), func() (caddy.Destructor, error) {
		c := &idpClient{
			issuer:       issuer,
			clientID:     clientID,
			loopbackHTTP: loopbackHTTP,
			now:          now,
			http:         newIdPHTTPClient(),
			health:       idpHealth{every: defaultHealthCheckInterval},
		}
		c.http.Transport = healthTransport{next: c.http.Transport, c: c}
		return c, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*idpClient), nil
}

// Destruct implements caddy.Destructor; idle connections are closed when the
// last config using this provider is unloaded.
func (c *idpClient) Destruct() error {
	c.http.CloseIdleConnections()
	return nil
}

func newIdPHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.ResponseHeaderTimeout = discoveryTimeout
	return &http.Client{
		Transport: timedTransport{next: t, hist: sharedMetrics().idpDuration},
		Timeout:   discoveryTimeout,
		// The IdP's back-channel endpoints never legitimately redirect.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// ctx returns a context that makes go-oidc and oauth2 use our HTTP client.
func (c *idpClient) ctx(parent context.Context) context.Context {
	ctx := oidc.ClientContext(parent, c.http)
	return context.WithValue(ctx, oauth2.HTTPClient, c.http)
}

// get returns the discovered provider, running discovery when due. While the
// IdP is failing it answers errIdPUnavailable without network I/O until the
// backoff expires, so an outage cannot pile up blocked requests.
func (c *idpClient) get(ctx context.Context) (*discovered, error) {
	c.mu.Lock()
	if c.found != nil {
		d := c.found
		c.mu.Unlock()
		return d, nil
	}
	now := c.now()
	if now.Before(c.nextTry) {
		err := &errIdPUnavailable{retryAfter: c.nextTry.Sub(now), cause: c.lastError}
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
		backoff := min(minBackoff<<min(c.failures-1, 10), maxBackoff)
		c.nextTry = c.now().Add(backoff)
		c.lastError = err
		return nil, &errIdPUnavailable{retryAfter: backoff, cause: err}
	}
	c.found, c.failures, c.lastError = d, 0, nil
	return d, nil
}

func (c *idpClient) discover(parent context.Context) (*discovered, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), discoveryTimeout)
	defer cancel()
	ctx = c.ctx(withIdPEndpoint(ctx, "discovery"))
	p, err := oidc.NewProvider(ctx, c.issuer)
	if err != nil {
		return nil, fmt.Errorf("discovery at %s: %w", c.issuer, err)
	}
	var extra struct {
		ClaimsParameterSupported bool     `json:"claims_parameter_supported"`
		EndSessionEndpoint       string   `json:"end_session_endpoint"`
		JWKSURI                  string   `json:"jwks_uri"`
		TokenAuthMethods         []string `json:"token_endpoint_auth_methods_supported"`
		SigningAlgs              []string `json:"id_token_signing_alg_values_supported"`
	}
	if err := p.Claims(&extra); err != nil {
		return nil, fmt.Errorf("discovery at %s: %w", c.issuer, err)
	}
	endpoints := map[string]string{"authorization_endpoint": p.Endpoint().AuthURL, "token_endpoint": p.Endpoint().TokenURL, "jwks_uri": extra.JWKSURI}
	if err := checkEndpointSchemes(c.loopbackHTTP, endpoints); err != nil {
		return nil, fmt.Errorf("discovery at %s: %w", c.issuer, err)
	}
	if extra.EndSessionEndpoint != "" && checkEndpointScheme(c.loopbackHTTP, extra.EndSessionEndpoint) != nil {
		extra.EndSessionEndpoint = "" // logout then ends the local session only
	}
	keys := &remoteKeys{url: extra.JWKSURI, client: c.http, now: c.now}
	algs := acceptedAlgs(extra.SigningAlgs)
	return &discovered{
		provider:       p,
		idTokens:       oidc.NewVerifier(c.issuer, keys, &oidc.Config{ClientID: c.clientID, Now: c.now, SupportedSigningAlgs: algs}),
		accessTokens:   oidc.NewVerifier(c.issuer, keys, &oidc.Config{SkipClientIDCheck: true, Now: c.now, SupportedSigningAlgs: algs}),
		logoutTokens:   oidc.NewVerifier(c.issuer, keys, &oidc.Config{ClientID: c.clientID, SkipExpiryCheck: true, Now: c.now, SupportedSigningAlgs: algs}),
		claimsParam:    extra.ClaimsParameterSupported,
		endSessionURL:  extra.EndSessionEndpoint,
		authorizeURL:   p.Endpoint().AuthURL,
		tokenEndpoint:  p.Endpoint(),
		tokenAuthStyle: tokenAuthStyle(extra.TokenAuthMethods),
	}, nil
}

// unavailable reports whether err means the IdP could not be reached, and
// how long a client should wait.
func unavailable(err error) (time.Duration, bool) {
	var u *errIdPUnavailable
	if errors.As(err, &u) {
		return max(u.retryAfter, minBackoff), true
	}
	return 0, false
}

// acceptedAlgs is what the IdP advertises, limited to the asymmetric
// algorithms we accept; an IdP advertising nothing usable gets our list.
func acceptedAlgs(advertised []string) []string {
	var out []string
	for _, a := range advertised {
		for _, ok := range signingAlgs {
			if a == string(ok) {
				out = append(out, a)
			}
		}
	}
	if len(out) == 0 {
		for _, ok := range signingAlgs {
			out = append(out, string(ok))
		}
	}
	return out
}

// tokenAuthStyle picks how to authenticate at the token endpoint:
// client_secret_basic, the OIDC default, unless the IdP lists only
// client_secret_post.
func tokenAuthStyle(supported []string) oauth2.AuthStyle {
	if len(supported) > 0 && !slices.Contains(supported, "client_secret_basic") && slices.Contains(supported, "client_secret_post") {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
}
