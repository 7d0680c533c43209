package stepup

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/provider"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// Why a login callback is refused: the status, the page shown and the
// bounded reason logged and counted, for each way the IdP's answer can
// fall short.

// loginFailure is a refused callback: the status and page shown to the user,
// and the bounded reason recorded in logs and metrics.
type loginFailure struct {
	status int
	reason string // state, nonce, token, acr, amr, auth_time, subject, idp
	msg    string // safe to show
	err    error  // details for the log only

	// retry: the IdP answered below the requirement without authenticating
	// the user for this attempt; one more attempt with prompt=login may
	// succeed where this one could not.
	retry bool
}

func (f *loginFailure) Error() string { return f.reason + ": " + f.err.Error() }

func (f *loginFailure) Unwrap() error { return f.err }

func fail(status int, reason, msg string, err error) *loginFailure {
	return &loginFailure{status: status, reason: reason, msg: msg, err: err}
}

// idTokenRefused is the page for an ID token the provider client refused.
func idTokenRefused(err error) *loginFailure {
	var refused *provider.Refused
	errors.As(err, &refused)
	switch {
	case refused == nil:
		return fail(http.StatusServiceUnavailable, "idp", "The identity provider is unavailable; try again shortly.", err)
	case refused.Reason == "nonce":
		return fail(http.StatusUnauthorized, "nonce", "The identity provider's answer does not belong to this login.", refused.Err)
	case refused.Reason == "incomplete":
		return fail(http.StatusUnauthorized, "token", "The identity provider's answer is incomplete.", refused.Err)
	case refused.Reason == "malformed":
		return fail(http.StatusUnauthorized, "token", "The identity provider's answer could not be read.", refused.Err)
	}
	return fail(http.StatusUnauthorized, "token", "The identity provider's answer could not be verified.", refused.Err)
}

// checkAuthentication reports how the login s falls short of req, the
// requirement of flow f, or nil when it meets it.
func checkAuthentication(req *decision.Requirement, s *session.Session, f *flowState, now time.Time) *loginFailure {
	if !req.ACRSatisfied(s.ACR) {
		return fail(http.StatusForbidden, "acr", "Your sign-in was not strong enough for this page. It needs: "+req.ACRValues+".", fmt.Errorf("acr %q does not satisfy %q", s.ACR, req.ACRValues))
	}
	if !s.HasAMR(req.AMR) {
		return fail(http.StatusForbidden, "amr", "Your sign-in did not use the required method.", fmt.Errorf("amr %q lacks %q", s.AMR, req.AMR))
	}
	if f.MaxAge < 0 {
		return nil
	}
	if s.AuthTime.IsZero() {
		return fail(http.StatusForbidden, "auth_time", "The identity provider did not say when you signed in.", errors.New("auth_time absent although max_age was sent"))
	}
	oldest := now.Add(-time.Duration(f.MaxAge) * time.Second)
	if f.MaxAge == 0 {
		oldest = time.Unix(f.Started, 0)
	}
	if s.AuthTime.Before(oldest.Add(-clockSkew)) {
		return fail(http.StatusForbidden, "auth_time", "This page needs a fresh sign-in, but the identity provider reused an older one.", fmt.Errorf("auth_time %s older than allowed %s", s.AuthTime.UTC().Format(time.RFC3339), oldest.UTC().Format(time.RFC3339)))
	}
	return nil
}

// oauthErrorCode reduces an IdP-supplied error code to the OAuth character
// set so it is safe in pages and logs.
func oauthErrorCode(code string) string {
	b := make([]byte, 0, min(len(code), 64))
	for i := 0; i < len(code) && len(b) < 64; i++ {
		if c := code[i]; c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
			b = append(b, c)
		}
	}
	if len(b) == 0 {
		return "unknown_error"
	}
	return string(b)
}
