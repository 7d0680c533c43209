package idp

import (
	"slices"
	"time"
)

// The assurance levels this OP grants, weakest first, and the methods
// behind them (amr values from RFC 8176).
const (
	ACRPassword = "urn:stepup:pwd"
	ACRMFA      = "urn:stepup:mfa"

	methodPassword = "pwd"
	methodOTP      = "otp"
)

// step is what the login UI must ask next for one authorization request.
type step int

const (
	stepPassword step = iota
	stepOTP
	stepDone
)

func (s step) String() string {
	return [...]string{"password", "otp", "done"}[s]
}

// demand is what an authorization request asks of the user's
// authentication, read from acr_values, max_age, prompt and login_hint.
type demand struct {
	mfa       bool
	maxAge    time.Duration
	hasMaxAge bool // prompt=login arrives here as max_age 0 (the library maps it)
	loginHint string
}

// progress records the factors the user completed during this one
// authorization request, so that "max_age 0" is satisfied by the password
// just typed instead of asking for it forever.
type progress struct {
	password bool
	otp      bool
}

// acrFor names the level a set of methods reaches.
func acrFor(amr []string) string {
	if slices.Contains(amr, methodOTP) {
		return ACRMFA
	}
	return ACRPassword
}

// wantsMFA reads acr_values, the acceptable levels in order of preference
// (OIDC Core 3.1.2.1). The second factor is required only when the password
// level is not acceptable but ours is; values we do not know are ignored, as
// the spec makes acr a voluntary claim.
func wantsMFA(acrValues []string) bool {
	return slices.Contains(acrValues, ACRMFA) && !slices.Contains(acrValues, ACRPassword)
}

// needsReauth reports whether the SSO session cannot be reused as it is: there
// is none, it is for someone other than login_hint names, or it is older than
// max_age allows.
func needsReauth(d demand, s *ssoSession, now time.Time) bool {
	switch {
	case s == nil:
		return true
	case d.loginHint != "" && d.loginHint != s.User:
		return true
	case d.hasMaxAge && now.Sub(s.AuthTime) > d.maxAge:
		return true
	}
	return false
}

// nextStep decides what the user must do next. It is pure so that the
// rules of this OP can be read, and tested, in one place:
//
//   - re-authentication (no session, another user hinted, max_age passed,
//     prompt=login) starts with the password, unless typed in this request;
//   - mfa in acr_values needs the one-time code: typed in this request, or
//     already part of a session that did not need re-authentication;
//   - otherwise the existing SSO session answers, without any page.
func nextStep(d demand, p progress, s *ssoSession, now time.Time) step {
	reauth := needsReauth(d, s, now)
	// Without a session nothing can be answered, whatever was typed: the
	// browser lost (or never stored) the cookie set by the password step.
	if s == nil || (reauth && !p.password) {
		return stepPassword
	}
	if d.mfa && !p.otp && (reauth || !slices.Contains(s.AMR, methodOTP)) {
		return stepOTP
	}
	return stepDone
}
