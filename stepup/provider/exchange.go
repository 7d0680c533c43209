package provider

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/oauth2"
)

// TokenRefused is the token endpoint's refusal of a code: a verdict on the
// login, not an outage. Code is the provider's OAuth error code, unfiltered.
type TokenRefused struct{ Code string }

func (e *TokenRefused) Error() string { return "token endpoint refused the code: " + e.Code }

// ErrNoIDToken is a token response without an ID token.
var ErrNoIDToken = errors.New("token response without id_token")

// Exchange redeems an authorization code with its PKCE verifier and returns
// the raw ID token, to be checked with VerifyIDToken. A refusal is
// *TokenRefused; the provider failing (unreachable, 5xx) is any other error.
func (c *Client) Exchange(ctx context.Context, code, verifier, redirectURI, clientSecret string) (string, error) {
	d, err := c.Discover(ctx)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	cfg := oauth2.Config{
		ClientID:     c.key.ClientID,
		ClientSecret: clientSecret,
		Endpoint:     d.tokenEndpoint,
		RedirectURL:  redirectURI,
	}
	// One attempt only: oauth2's auto-detection retries a refused code with
	// another client authentication method, presenting the code twice.
	cfg.Endpoint.AuthStyle = d.tokenAuthStyle
	tok, err := cfg.Exchange(c.ctx(withEndpoint(ctx, "token")), code, oauth2.VerifierOption(verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode >= 500 {
			// The IdP failing is an outage, not a verdict on this login.
			return "", fmt.Errorf("token endpoint: %s", re.Response.Status)
		}
		if errors.As(err, &re) {
			return "", &TokenRefused{Code: re.ErrorCode}
		}
		return "", err
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", ErrNoIDToken
	}
	return raw, nil
}
