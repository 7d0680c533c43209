package provider

import (
	"context"
	"crypto/subtle"
	"errors"
	"time"
)

// Refused is a token that failed a check: a verdict on the token, not an
// outage. Reason is a bounded label for logs and metrics: signature (the
// verifier refused it), nonce (an ID token of another login), incomplete
// (an ID token without sub or iat), malformed (its claims could not be
// read) or claims (they break the token's rules).
type Refused struct {
	Reason string
	Err    error
}

func (e *Refused) Error() string { return e.Reason + ": " + e.Err.Error() }
func (e *Refused) Unwrap() error { return e.Err }

// IDToken is a verified ID token's subject and the claims we read beyond
// what go-oidc verifies (signature, issuer, audience, expiry) and
// VerifyIDToken checks (nonce, sub, iat). acr, amr and auth_time are the
// caller's to check against what its login asked for.
type IDToken struct {
	Subject  string
	IssuedAt time.Time
	ACR      string
	AMR      []string
	AuthTime *int64 // unix seconds; nil when absent
	SID      string
}

// VerifyIDToken verifies an ID token the token endpoint just returned for
// the login that sent nonce. An unknown key id there means the provider
// rotated its keys, not a forgery, so the key set is refreshed whatever its
// rate limit.
func (c *Client) VerifyIDToken(ctx context.Context, raw, nonce string) (*IDToken, error) {
	d, err := c.Discover(ctx)
	if err != nil {
		return nil, err
	}
	idt, err := d.idTokens.Verify(withForcedKeyRefresh(c.ctx(ctx)), raw)
	if err != nil {
		return nil, &Refused{Reason: "signature", Err: err}
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, &Refused{Reason: "nonce", Err: errors.New("nonce mismatch")}
	}
	if idt.Subject == "" || idt.IssuedAt.IsZero() {
		return nil, &Refused{Reason: "incomplete", Err: errors.New("id token without sub or iat")}
	}
	var claims struct {
		ACR      string   `json:"acr"`
		AMR      []string `json:"amr"`
		AuthTime *int64   `json:"auth_time"`
		SID      string   `json:"sid"`
	}
	if err := idt.Claims(&claims); err != nil {
		return nil, &Refused{Reason: "malformed", Err: err}
	}
	return &IDToken{Subject: idt.Subject, IssuedAt: idt.IssuedAt,
		ACR: claims.ACR, AMR: claims.AMR, AuthTime: claims.AuthTime, SID: claims.SID}, nil
}
