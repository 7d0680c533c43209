// Package rogueop is an OpenID Provider that answers whatever the test
// scripts, including what no honest IdP would send: unsigned, mis-signed or
// forged ID tokens, foreign issuers and audiences, weak acr, stale
// auth_time, another user's subject, token endpoint errors. It lets
// caddy-stepup's security tests play a compromised or buggy IdP, which a
// real one (integration/internal/hydra) cannot be made to do; left to
// [Provider.HonestReply], it is the small honest OP of the k8s end-to-end
// tests. It sits in the root module so that both test modules (integration/
// and k8s/, which replace-import the root) share one copy.
//
// It serves, on a loopback httptest server:
//
//	/.well-known/openid-configuration   discovery
//	/jwks                               the published keys (RSA and EC)
//	/authorize                          records the request and redirects
//	                                    straight back to redirect_uri with a
//	                                    fresh code and the state
//	/token                              checks client authentication, PKCE and
//	                                    redirect_uri like an honest IdP, then
//	                                    answers with the test's [Reply]
//
// The endpoints themselves are honest: a code buys tokens once, PKCE and
// client authentication are verified. What the token endpoint then answers
// is up to [Provider.OnToken].
package rogueop

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Options configure a Provider.
type Options struct {
	// ClientID and ClientSecret are the only client the token endpoint
	// accepts (client_secret_basic or client_secret_post).
	ClientID     string
	ClientSecret string

	// TLS serves the provider over HTTPS (issuer https://127.0.0.1:<port>)
	// with a certificate from [Provider.CertPEM]; default plain HTTP.
	TLS bool

	// EditDiscovery, when set, rewrites the discovery document before it is
	// served: a misconfigured IdP (plain-HTTP endpoints, say).
	EditDiscovery func(doc map[string]any)
}

// Grant is one authorization request as the token endpoint sees it when its
// code is redeemed: what the relying party asked for at /authorize, and what
// it sent to /token.
type Grant struct {
	Code        string
	ClientID    string
	RedirectURI string
	State       string
	Nonce       string
	ACRValues   []string // split acr_values
	MaxAge      string   // raw max_age ("" when absent)
	Prompt      string
	LoginHint   string
	Claims      string     // raw claims parameter
	Query       url.Values // the whole authorization request
	Verifier    string     // code_verifier sent to /token
	Redemptions int        // earlier redemptions of this code that got tokens
}

// Reply is what the token endpoint answers. A zero Status means 200.
type Reply struct {
	Status int
	// Body is sent as JSON; nil sends {}.
	Body map[string]any
}

// Tokens is a successful token response carrying the given ID token.
func Tokens(idToken string) Reply {
	return Reply{Body: map[string]any{
		"access_token": "rogue-at-" + randomString(16),
		"token_type":   "Bearer",
		"expires_in":   300,
		"id_token":     idToken,
	}}
}

// Error is an OAuth 2.0 error response (RFC 6749 §5.2).
func Error(status int, code string) Reply {
	return Reply{Status: status, Body: map[string]any{"error": code, "error_description": "scripted by the test"}}
}

// Provider is a running rogue OpenID Provider.
type Provider struct {
	t    testing.TB
	srv  *httptest.Server
	opts Options
	now  func() time.Time

	mu         sync.Mutex
	keys       *keyRing
	grants     map[string]*Grant // by code
	authorized []Grant           // every /authorize request, oldest first
	onToken    func(Grant) Reply
	calls      []TokenCall // every /token request, oldest first
}

// Start runs a rogue OpenID Provider for the test; it stops with the test.
func Start(t testing.TB, opts Options) *Provider {
	t.Helper()
	p := &Provider{t: t, opts: opts, now: time.Now, grants: map[string]*Grant{}, keys: newKeyRing(t)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.serveDiscovery)
	mux.HandleFunc("GET /jwks", p.serveJWKS)
	mux.HandleFunc("GET /authorize", p.serveAuthorize)
	mux.HandleFunc("POST /token", p.serveToken)
	if opts.TLS {
		p.srv = httptest.NewTLSServer(mux)
	} else {
		p.srv = httptest.NewServer(mux)
	}
	t.Cleanup(p.srv.Close)
	return p
}

// Stop shuts the provider down, as an IdP that dies: every later
// connection to it is refused. It is safe to call twice.
func (p *Provider) Stop() { p.srv.Close() }

// Issuer is the provider's issuer URL, http://127.0.0.1:<port> (https
// with [Options.TLS]).
func (p *Provider) Issuer() string { return p.srv.URL }

// CertPEM is the TLS certificate of an [Options.TLS] provider, PEM-encoded,
// for a relying party to trust (SSL_CERT_FILE); nil without TLS.
func (p *Provider) CertPEM() []byte {
	if p.srv.Certificate() == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw})
}

// OnToken sets what the token endpoint answers for a valid redemption; nil
// restores [Provider.HonestReply]. fn runs on the server's goroutine: it must
// not call t.Fatal.
func (p *Provider) OnToken(fn func(Grant) Reply) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.onToken = fn
}

// TokenCall is one request to the token endpoint and its answer.
type TokenCall struct {
	Code       string
	Verifier   string // code_verifier
	ClientAuth string // client_secret_basic, client_secret_post or none
	Reply      Reply  // including the endpoint's own invalid_client/invalid_grant
}

// TokenRequests is how many requests reached the token endpoint.
func (p *Provider) TokenRequests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.calls)
}

// TokenCalls returns the token endpoint's requests so far, oldest first.
func (p *Provider) TokenCalls() []TokenCall {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]TokenCall(nil), p.calls...)
}

// Authorizations returns every authorization request received, oldest first.
func (p *Provider) Authorizations() []Grant {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Grant(nil), p.authorized...)
}

// LastAuthorization returns the latest authorization request.
func (p *Provider) LastAuthorization() (Grant, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.authorized) == 0 {
		return Grant{}, false
	}
	return p.authorized[len(p.authorized)-1], true
}

// HonestReply is what a correct IdP answers: an RS256 ID token from
// [Provider.Claims] for alice, with the first requested acr.
func (p *Provider) HonestReply(g Grant) Reply {
	return Tokens(p.SignRS256(p.Claims(g)))
}

// Claims are the claims of a correct ID token for g: issuer, audience (the
// client), subject alice, iat, exp in 5 minutes, g's nonce, auth_time now,
// acr the first requested value (absent when none was requested), amr pwd.
// Tests change them with [Claims.With] and [Claims.Without].
func (p *Provider) Claims(g Grant) Claims {
	now := p.now().Unix()
	c := Claims{
		"iss":       p.Issuer(),
		"aud":       []string{p.opts.ClientID},
		"sub":       "alice",
		"iat":       now,
		"exp":       now + 300,
		"auth_time": now,
		"amr":       []string{"pwd"},
	}
	if g.Nonce != "" {
		c["nonce"] = g.Nonce
	}
	if len(g.ACRValues) > 0 {
		c["acr"] = g.ACRValues[0]
	}
	return c
}

// Claims are JWT claims.
type Claims map[string]any

// With returns a copy of c with the claim set.
func (c Claims) With(name string, value any) Claims {
	out := make(Claims, len(c)+1)
	for k, v := range c {
		out[k] = v
	}
	out[name] = value
	return out
}

// Without returns a copy of c without the claims.
func (c Claims) Without(names ...string) Claims {
	out := make(Claims, len(c))
	for k, v := range c {
		out[k] = v
	}
	for _, n := range names {
		delete(out, n)
	}
	return out
}
