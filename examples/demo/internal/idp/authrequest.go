package idp

import (
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// authRequest is one authorization request, from /authorize until its code
// is redeemed. The storage hands the library copies, never the stored value,
// so the login UI can update it under the storage lock.
type authRequest struct {
	ID       string
	Created  time.Time
	ClientID string
	Request  oidc.AuthRequest // as the library parsed and validated it
	Asked    asked            // as the site sent it, for the page and the log

	// Login UI state.
	progress progress
	otp      *oneTimeCode
	failures int

	// Set when the login completes.
	done     bool
	subject  string
	authTime time.Time
	amr      []string

	code       string
	codeIssued time.Time
}

// demand reads what the request asks of the user's authentication.
func (a *authRequest) demand() demand {
	d := demand{mfa: wantsMFA(a.Request.ACRValues), loginHint: a.Request.LoginHint}
	if a.Request.MaxAge != nil {
		d.hasMaxAge, d.maxAge = true, time.Duration(*a.Request.MaxAge)*time.Second
	}
	return d
}

func (a *authRequest) promptNone() bool {
	return slices.Contains(a.Request.Prompt, oidc.PromptNone)
}

func (a *authRequest) GetID() string         { return a.ID }
func (a *authRequest) GetACR() string        { return acrFor(a.amr) }
func (a *authRequest) GetAMR() []string      { return slices.Clone(a.amr) }
func (a *authRequest) GetAudience() []string { return []string{a.ClientID} }
func (a *authRequest) GetAuthTime() time.Time {
	return a.authTime
}
func (a *authRequest) GetClientID() string { return a.ClientID }
func (a *authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	return &oidc.CodeChallenge{Challenge: a.Request.CodeChallenge, Method: a.Request.CodeChallengeMethod}
}
func (a *authRequest) GetNonce() string                   { return a.Request.Nonce }
func (a *authRequest) GetRedirectURI() string             { return a.Request.RedirectURI }
func (a *authRequest) GetResponseType() oidc.ResponseType { return a.Request.ResponseType }
func (a *authRequest) GetResponseMode() oidc.ResponseMode { return a.Request.ResponseMode }
func (a *authRequest) GetScopes() []string                { return slices.Clone(a.Request.Scopes) }
func (a *authRequest) GetState() string                   { return a.Request.State }
func (a *authRequest) GetSubject() string                 { return a.subject }
func (a *authRequest) Done() bool                         { return a.done }

// Interface guards
var _ op.AuthRequest = (*authRequest)(nil)
