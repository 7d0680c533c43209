package provider

import (
	"context"
	"errors"
	"slices"
	"time"
)

// AccessToken is a verified access token's subject, times and the claims
// a request is judged by. It is returned by value: verifying a token on
// the request path allocates nothing more for it.
type AccessToken struct {
	Subject  string
	ACR      string
	AMR      []string
	AuthTime *int64 // unix seconds; nil when absent
	IssuedAt time.Time
	Expiry   time.Time
}

// VerifyAccessToken checks signature, issuer and expiry (go-oidc), then
// that the token is meant for one of audiences and is an access token, not
// an ID token replayed as one: typed at+jwt (RFC 9068) unless
// allowUntyped, and without an ID token's nonce or at_hash in any case.
func (c *Client) VerifyAccessToken(ctx context.Context, token string, audiences []string, allowUntyped bool) (AccessToken, error) {
	d, err := c.Discover(ctx)
	if err != nil {
		return AccessToken{}, err
	}
	t, err := d.accessTokens.Verify(c.ctx(ctx), token)
	if err != nil {
		return AccessToken{}, err
	}
	if !slices.ContainsFunc(t.Audience, func(a string) bool { return slices.Contains(audiences, a) }) {
		return AccessToken{}, errors.New("audience not accepted")
	}
	var claims struct {
		ACR      string   `json:"acr"`
		AMR      []string `json:"amr"`
		AuthTime *int64   `json:"auth_time"`
		Nonce    string   `json:"nonce"`
		AtHash   string   `json:"at_hash"`
	}
	if err := t.Claims(&claims); err != nil {
		return AccessToken{}, err
	}
	if claims.Nonce != "" || claims.AtHash != "" || t.Subject == "" {
		return AccessToken{}, errors.New("not an access token")
	}
	if !allowUntyped && !isAccessTokenType(token) {
		return AccessToken{}, ErrUntypedAccessToken
	}
	return AccessToken{Subject: t.Subject, ACR: claims.ACR, AMR: claims.AMR, AuthTime: claims.AuthTime,
		IssuedAt: t.IssuedAt, Expiry: t.Expiry}, nil
}
