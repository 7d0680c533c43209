package provider

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Discovery is what discovery yields; immutable once built.
type Discovery struct {
	clientID       string
	idTokens       *oidc.IDTokenVerifier
	accessTokens   *oidc.IDTokenVerifier // same keys; audience checked by us
	logoutTokens   *oidc.IDTokenVerifier // same keys and audience; exp and iat checked by us
	claimsParam    bool
	endSessionURL  string
	authorizeURL   string
	tokenEndpoint  oauth2.Endpoint
	tokenAuthStyle oauth2.AuthStyle
}

// discoveredMetadata is what we read from the discovery document beyond
// what go-oidc reads.
type discoveredMetadata struct {
	ClaimsParameterSupported bool     `json:"claims_parameter_supported"`
	EndSessionEndpoint       string   `json:"end_session_endpoint"`
	JWKSURI                  string   `json:"jwks_uri"`
	TokenAuthMethods         []string `json:"token_endpoint_auth_methods_supported"`
	SigningAlgs              []string `json:"id_token_signing_alg_values_supported"`
}

// EndSessionEndpoint is the provider's RP-Initiated Logout endpoint, or ""
// when it has none that may be used.
func (d *Discovery) EndSessionEndpoint() string { return d.endSessionURL }

func (c *Client) discover(parent context.Context) (*Discovery, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), discoveryTimeout)
	defer cancel()
	ctx = c.ctx(withEndpoint(ctx, "discovery"))
	p, err := oidc.NewProvider(ctx, c.key.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discovery at %s: %w", c.key.Issuer, err)
	}
	var extra discoveredMetadata
	if err := p.Claims(&extra); err != nil {
		return nil, fmt.Errorf("discovery at %s: %w", c.key.Issuer, err)
	}
	endpoints := map[string]string{"authorization_endpoint": p.Endpoint().AuthURL, "token_endpoint": p.Endpoint().TokenURL, "jwks_uri": extra.JWKSURI}
	if err := checkEndpointSchemes(c.key.LoopbackHTTP, endpoints); err != nil {
		return nil, fmt.Errorf("discovery at %s: %w", c.key.Issuer, err)
	}
	if extra.EndSessionEndpoint != "" && checkEndpointScheme(c.key.LoopbackHTTP, extra.EndSessionEndpoint) != nil {
		extra.EndSessionEndpoint = "" // logout then ends the local session only
	}
	keys := &remoteKeys{url: extra.JWKSURI, client: c.http, now: c.now}
	endpoint := p.Endpoint()
	return newDiscovery(c.key, keys, c.now, &endpoint, extra), nil
}

// newDiscovery builds the verifiers over keys and keeps what the
// authorization request and the code exchange need.
func newDiscovery(k Key, keys oidc.KeySet, now func() time.Time, endpoint *oauth2.Endpoint, extra discoveredMetadata) *Discovery {
	algs := acceptedAlgs(extra.SigningAlgs)
	d := &Discovery{
		clientID:       k.ClientID,
		idTokens:       oidc.NewVerifier(k.Issuer, keys, &oidc.Config{ClientID: k.ClientID, Now: now, SupportedSigningAlgs: algs}),
		accessTokens:   oidc.NewVerifier(k.Issuer, keys, &oidc.Config{SkipClientIDCheck: true, Now: now, SupportedSigningAlgs: algs}),
		logoutTokens:   oidc.NewVerifier(k.Issuer, keys, &oidc.Config{ClientID: k.ClientID, SkipExpiryCheck: true, Now: now, SupportedSigningAlgs: algs}),
		claimsParam:    extra.ClaimsParameterSupported,
		endSessionURL:  extra.EndSessionEndpoint,
		tokenAuthStyle: tokenAuthStyle(extra.TokenAuthMethods),
	}
	if endpoint != nil {
		d.authorizeURL, d.tokenEndpoint = endpoint.AuthURL, *endpoint
	}
	return d
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
