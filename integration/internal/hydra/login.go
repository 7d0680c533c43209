package hydra

import (
	"net/url"
	"time"
)

// Default login outcome when the test has not called OnLogin.
const (
	DefaultSubject = "alice"
	DefaultACR     = "urn:stepup:pwd"
)

// DefaultAMR is the default login's authentication methods.
var DefaultAMR = []string{"pwd"}

// Authentication is what the IdP established when a user logged in; the
// harness remembers it per Hydra login session so that remembered (skipped)
// logins and access-token claims report the original values.
type Authentication struct {
	Subject  string
	ACR      string
	AMR      []string
	AuthTime time.Time // whole seconds, as in the ID token's auth_time
}

// LoginRequest is a login request Hydra forwarded to the login app, i.e.
// what the relying party asked the IdP for.
type LoginRequest struct {
	Challenge string
	// Skip is true when Hydra has a remembered login session for the
	// browser (and no prompt=login / exceeded max_age forced a new login);
	// then Subject is that session's user and the login must be accepted
	// for the same subject (or rejected).
	Skip      bool
	Subject   string
	SessionID string // Hydra's login session id ("session_id")
	ClientID  string

	RequestedScope    []string
	RequestedAudience []string
	// From Hydra's oidc_context.
	ACRValues         []string
	LoginHint         string
	UILocales         []string
	IDTokenHintClaims map[string]any

	// RequestURL is the original authorization request URL; Query is its
	// parsed query, holding everything the relying party sent (state,
	// nonce, code_challenge, code_challenge_method, claims, ...).
	RequestURL string
	Query      url.Values
	// Raw values of the matching authorization request parameters ("" when
	// absent), for convenient assertions.
	MaxAge string
	Prompt string
	Claims string

	// Previous is the harness's record of the remembered session when
	// Skip is true (nil if unknown, e.g. after Restart).
	Previous *Authentication
}

// LoginDecision is what the IdP's user does with a LoginRequest.
type LoginDecision struct {
	// Subject defaults to the remembered subject when skipping, else
	// DefaultSubject.
	Subject string
	// ACR and AMR are sent as given (empty means none); Hydra puts them
	// into the ID token, the harness into the access token.
	ACR string
	AMR []string
	// Remember makes Hydra keep a login session cookie, so the next flow
	// in the same browser is a skipped (SSO) login. Hydra forces it on
	// for skipped logins.
	Remember bool
	// RememberFor is the session lifetime in seconds (0: Hydra's default).
	RememberFor int
	// Reject, if set, rejects the login with this OAuth 2.0 error code
	// (e.g. "access_denied", "login_required"), which Hydra redirects to
	// the relying party together with RejectDescription.
	Reject            string
	RejectDescription string
}

// DefaultLogin is the login outcome used when OnLogin was not called: a
// remembered session logs in again with what it had, any other request
// logs in DefaultSubject with DefaultACR / DefaultAMR and no remembering.
func DefaultLogin(req LoginRequest) LoginDecision {
	if req.Skip && req.Previous != nil {
		return LoginDecision{Subject: req.Subject, ACR: req.Previous.ACR, AMR: req.Previous.AMR, Remember: true}
	}
	d := LoginDecision{Subject: DefaultSubject, ACR: DefaultACR, AMR: DefaultAMR}
	if req.Skip {
		d.Subject, d.Remember = req.Subject, true
	}
	return d
}

// OnLogin sets what the user does on every subsequent login request; nil
// restores DefaultLogin. The function runs on the login app's goroutine, so
// it must not call t.Fatal.
func (s *Server) OnLogin(fn func(LoginRequest) LoginDecision) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onLogin = fn
}

// LoginRequests returns every login request seen so far, oldest first.
func (s *Server) LoginRequests() []LoginRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]LoginRequest(nil), s.logins...)
}

// LastLoginRequest returns the most recent login request; ok is false if
// there was none.
func (s *Server) LastLoginRequest() (req LoginRequest, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.logins) == 0 {
		return LoginRequest{}, false
	}
	return s.logins[len(s.logins)-1], true
}

// ResetLoginRequests forgets the recorded login requests.
func (s *Server) ResetLoginRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logins = nil
}
