package stepup

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/provider"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// checkIDToken applies the checks left once the provider client has
// verified the ID token (signature, issuer, audience, expiry, nonce, sub,
// iat): that what the IdP actually did meets the rule. acr_values was only
// a request; the returned claims decide.
func (h *Handler) checkIDToken(idt *provider.IDToken, f *flowState) (*session.Session, error) {
	now := h.now()
	s := &session.Session{Subject: idt.Subject, ACR: idt.ACR, AMR: idt.AMR, Issued: now, Expires: now.Add(h.sessionLifetime), LoginRule: f.Rule, SID: idt.SID}
	var err error
	if s.AuthTime, err = provider.AuthTime(idt.AuthTime, now); err != nil {
		return nil, fail(http.StatusUnauthorized, "auth_time", "The identity provider's answer is dated in the future.", fmt.Errorf("auth_time %d is after now %d plus %s", *idt.AuthTime, now.Unix(), clockSkew))
	}
	if f.Subject != "" && !constantTimeEqual(f.Subject, idt.Subject) {
		return nil, fail(http.StatusForbidden, "subject", "You signed in as a different user. Sign out first to switch users.", errors.New("step-up returned a different subject"))
	}
	// The requirement the login was started for, carried by the flow: a
	// risk step-up has no rule to look up, and a rule may have changed.
	req := f.requirement(h.policy)
	if lf := checkAuthentication(req, s, f, now); lf != nil {
		// An OP that treats acr_values or max_age as a hint answers with the
		// session it already had. Unless it was told to authenticate again,
		// or its auth_time shows it clearly did (later than the attempt's
		// start by more than the clock skew we tolerate), ask once more with
		// prompt=login. Erring towards the retry costs at most one more
		// sign-in for a login that would be refused anyway; erring against
		// it would leave the user stuck.
		lf.retry = !f.Prompt && !s.AuthTime.After(time.Unix(f.Started, 0).Add(clockSkew))
		return nil, lf
	}
	if len(s.Subject) > session.MaxClaimLen || len(s.ACR) > session.MaxClaimLen || len(s.SID) > session.MaxClaimLen || len(s.AMR) > session.MaxAMR || slices.ContainsFunc(s.AMR, func(m string) bool { return len(m) > session.MaxClaimLen }) {
		return nil, fail(http.StatusForbidden, "token", "The identity provider's answer is too large to keep.", errors.New("claims exceed session bounds"))
	}
	return s, nil
}

// clockSkew tolerates small clock differences between us and the IdP when
// comparing auth_time with the moment a login was requested.
const clockSkew = provider.ClockSkew
