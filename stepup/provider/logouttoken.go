package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// BackchannelLogoutEvent is the member an OpenID Back-Channel Logout 1.0
// logout token's events claim must carry.
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// maxLogoutTokenAge bounds how old (by iat) a logout token may be: the
// IdP sends it when the user logs out, and its jti is to be remembered for
// LogoutJTITTL, which outlasts it.
const (
	maxLogoutTokenAge = 2 * time.Minute
	LogoutJTITTL      = maxLogoutTokenAge + 2*ClockSkew
)

// ClockSkew tolerates small clock differences between us and the IdP when
// comparing the times its tokens carry with ours.
const ClockSkew = 10 * time.Second

// maxClaimLen bounds the identifiers a logout token names, as the session
// cookie bounds the claims it keeps.
const maxClaimLen = 255

// LogoutToken is a verified logout token's claims: iss, aud and the
// signature are go-oidc's, the rest parseLogoutClaims's. Its times are
// checked by Current.
type LogoutToken struct {
	Subject string
	SID     string
	JTI     string
	Issued  time.Time
	Expires time.Time // zero when the token has no exp
}

var errLogoutToken = errors.New("invalid logout token")

// parseLogoutClaims reads and checks the claims of a verified logout token
// (Back-Channel Logout 1.0 §2.4, §2.6): the events claim with the
// back-channel logout member holding a JSON object, a jti, an iat, a sub
// and/or sid, and no nonce (which tells an ID token from a logout token).
// It never panics on hostile input (it is fuzzed).
func parseLogoutClaims(payload []byte) (*LogoutToken, error) {
	var raw struct {
		Sub    *string                    `json:"sub"`
		SID    *string                    `json:"sid"`
		JTI    *string                    `json:"jti"`
		IAT    *json.Number               `json:"iat"`
		EXP    *json.Number               `json:"exp"`
		Events map[string]json.RawMessage `json:"events"`
		Nonce  json.RawMessage            `json:"nonce"`
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, fmt.Errorf("%w: claims: %v", errLogoutToken, err)
	}
	if raw.Nonce != nil {
		return nil, fmt.Errorf("%w: carries a nonce", errLogoutToken)
	}
	ev, ok := raw.Events[BackchannelLogoutEvent]
	if !ok {
		return nil, fmt.Errorf("%w: events claim lacks the back-channel logout event", errLogoutToken)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(ev, &obj); err != nil || obj == nil {
		return nil, fmt.Errorf("%w: the back-channel logout event is not a JSON object", errLogoutToken)
	}
	c := &LogoutToken{}
	if raw.JTI == nil || *raw.JTI == "" || len(*raw.JTI) > maxClaimLen {
		return nil, fmt.Errorf("%w: jti missing or too long", errLogoutToken)
	}
	c.JTI = *raw.JTI
	if raw.Sub != nil {
		c.Subject = *raw.Sub
	}
	if raw.SID != nil {
		c.SID = *raw.SID
	}
	if c.Subject == "" && c.SID == "" {
		return nil, fmt.Errorf("%w: neither sub nor sid", errLogoutToken)
	}
	if len(c.Subject) > maxClaimLen || len(c.SID) > maxClaimLen {
		return nil, fmt.Errorf("%w: sub or sid too long", errLogoutToken)
	}
	iat, err := unixClaim(raw.IAT)
	if err != nil || iat.IsZero() {
		return nil, fmt.Errorf("%w: iat missing or not a time", errLogoutToken)
	}
	c.Issued = iat
	if raw.EXP != nil {
		if c.Expires, err = unixClaim(raw.EXP); err != nil || c.Expires.IsZero() {
			return nil, fmt.Errorf("%w: exp is not a time", errLogoutToken)
		}
	}
	return c, nil
}

// Current checks the token's times against now: issued recently and not in
// the future (give or take ClockSkew), and not expired.
func (c *LogoutToken) Current(now time.Time) error {
	switch {
	case c.Issued.After(now.Add(ClockSkew)):
		return fmt.Errorf("%w: issued in the future", errLogoutToken)
	case c.Issued.Before(now.Add(-maxLogoutTokenAge - ClockSkew)):
		return fmt.Errorf("%w: issued more than %s ago", errLogoutToken, maxLogoutTokenAge)
	case !c.Expires.IsZero() && !now.Before(c.Expires.Add(ClockSkew)):
		return fmt.Errorf("%w: expired", errLogoutToken)
	}
	return nil
}

// unixClaim reads a NumericDate (seconds, possibly fractional); nil is zero.
func unixClaim(n *json.Number) (time.Time, error) {
	if n == nil {
		return time.Time{}, nil
	}
	f, err := n.Float64()
	if err != nil || f <= 0 || f > 1<<40 {
		return time.Time{}, errLogoutToken
	}
	return time.Unix(int64(f), 0), nil
}

// VerifyLogoutToken verifies a logout token's signature, issuer and
// audience, then its claims (parseLogoutClaims); the caller checks its
// times with Current and its jti against replay. A bad token is *Refused
// (reason signature, malformed or claims); the provider being unreachable
// is *Unavailable. An unknown key id refreshes the key set whatever its
// rate limit: the provider may have just rotated.
func (c *Client) VerifyLogoutToken(ctx context.Context, raw string) (*LogoutToken, error) {
	d, err := c.Discover(ctx)
	if err != nil {
		return nil, err
	}
	idt, err := d.logoutTokens.Verify(withForcedKeyRefresh(c.ctx(ctx)), raw)
	if err != nil {
		return nil, &Refused{Reason: "signature", Err: err}
	}
	var payload json.RawMessage
	if err := idt.Claims(&payload); err != nil {
		return nil, &Refused{Reason: "malformed", Err: err}
	}
	t, err := parseLogoutClaims(payload)
	if err != nil {
		return nil, &Refused{Reason: "claims", Err: err}
	}
	return t, nil
}
