package idp

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"slices"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// Lifetimes of what the storage keeps.
const (
	authRequestLifetime = 10 * time.Minute // from /authorize to the code's redemption
	authCodeLifetime    = time.Minute
	accessTokenLifetime = 5 * time.Minute
)

var (
	errNotFound    = errors.New("not found or expired")
	errUnsupported = errors.New("not supported by the demo OP")
)

// storage implements op.Storage in memory: one client, a few users,
// authorization requests and access tokens. Everything is lost on exit,
// which is the point of a demo.
type storage struct {
	client   *client
	users    directory
	sessions *sessions
	key      *signingKey
	now      func() time.Time
	logf     func(format string, args ...any)

	mu       sync.Mutex
	requests map[string]*authRequest
	codes    map[string]string // code -> request id
	tokens   map[string]accessToken
}

type accessToken struct {
	subject  string
	clientID string
	scopes   []string
	expires  time.Time
}

// CreateAuthRequest stores a validated authorization request. PKCE with
// S256 is required: the library accepts requests without it, this OP does not.
func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	if req.CodeChallenge == "" || req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE with code_challenge_method S256 is required")
	}
	a := &authRequest{ID: rand.Text(), Created: s.now(), ClientID: req.ClientID, Request: *req, Asked: askedFrom(ctx)}
	s.logf("authorization request from %s: %s", req.ClientID, a.Asked)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweep()
	s.requests[a.ID] = a
	return a.snapshot(), nil
}

// sweep drops expired requests and tokens; called with s.mu held.
func (s *storage) sweep() {
	now := s.now()
	for id, a := range s.requests {
		if now.Sub(a.Created) > authRequestLifetime {
			delete(s.requests, id)
			delete(s.codes, a.code)
		}
	}
	for id, t := range s.tokens {
		if now.After(t.expires) {
			delete(s.tokens, id)
		}
	}
}

// snapshot copies a request for the library, which reads it unlocked.
func (a *authRequest) snapshot() *authRequest {
	c := *a
	c.amr = slices.Clone(a.amr)
	c.otp = nil
	return &c
}

func (s *storage) lookup(id string) (*authRequest, error) {
	a, ok := s.requests[id]
	if !ok || s.now().Sub(a.Created) > authRequestLifetime {
		return nil, errNotFound
	}
	return a, nil
}

// update runs fn on the stored request under the lock.
func (s *storage) update(id string, fn func(*authRequest) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.lookup(id)
	if err != nil {
		return err
	}
	return fn(a)
}

func (s *storage) AuthRequestByID(_ context.Context, id string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.lookup(id)
	if err != nil {
		return nil, err
	}
	return a.snapshot(), nil
}

func (s *storage) AuthRequestByCode(_ context.Context, code string) (op.AuthRequest, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.lookup(s.codes[code])
	if err != nil || !a.done || s.now().Sub(a.codeIssued) > authCodeLifetime {
		return nil, errNotFound
	}
	return a.snapshot(), nil
}

func (s *storage) SaveAuthCode(_ context.Context, id, code string) error {
	return s.update(id, func(a *authRequest) error {
		a.code, a.codeIssued = code, s.now()
		s.codes[code] = id
		return nil
	})
}

// DeleteAuthRequest is called once tokens are issued, so a code works once.
func (s *storage) DeleteAuthRequest(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.requests[id]; ok {
		delete(s.codes, a.code)
		delete(s.requests, id)
	}
	return nil
}

func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	id := rand.Text()
	exp := s.now().Add(accessTokenLifetime)
	t := accessToken{subject: req.GetSubject(), scopes: req.GetScopes(), expires: exp}
	if a, ok := req.(*authRequest); ok {
		t.clientID = a.ClientID
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[id] = t
	return id, exp, nil
}

func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errUnsupported
}

func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, op.ErrInvalidRefreshToken
}

func (s *storage) TerminateSession(_ context.Context, userID, _ string) error {
	s.sessions.endUser(userID)
	return nil
}

// TerminateSessionFromRequest serves end_session: the relying party sends
// no id_token_hint (it keeps no tokens), so the browser's own SSO cookie,
// carried in the context by withSSOCookie, says which session to end.
func (s *storage) TerminateSessionFromRequest(ctx context.Context, req *op.EndSessionRequest) (string, error) {
	if id, ok := ctx.Value(ssoCookieKey{}).(string); ok {
		s.sessions.end(id)
	}
	if req.UserID != "" {
		s.sessions.endUser(req.UserID)
	}
	return req.RedirectURI, nil
}

func (s *storage) RevokeToken(_ context.Context, tokenOrID, _, _ string) *oidc.Error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.tokens, tokenOrID)
	return nil
}

func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.key, nil }

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{s.key.SignatureAlgorithm()}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{s.key}}, nil
}

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if id != s.client.cfg.ID {
		return nil, errNotFound
	}
	return s.client, nil
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	if id != s.client.cfg.ID || subtle.ConstantTimeCompare([]byte(secret), []byte(s.client.cfg.Secret)) != 1 {
		return errors.New("wrong client id or secret")
	}
	return nil
}

// SetUserinfoFromScopes is deprecated in the library; SetUserinfoFromRequest
// does the work for ID tokens.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

func (s *storage) SetUserinfoFromRequest(_ context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	s.userinfo(info, req.GetSubject(), scopes)
	return nil
}

func (s *storage) SetUserinfoFromToken(_ context.Context, info *oidc.UserInfo, tokenID, _, _ string) error {
	s.mu.Lock()
	t, ok := s.tokens[tokenID]
	s.mu.Unlock()
	if !ok || s.now().After(t.expires) {
		return errNotFound
	}
	s.userinfo(info, t.subject, t.scopes)
	return nil
}

func (s *storage) userinfo(info *oidc.UserInfo, subject string, scopes []string) {
	u := s.users[subject]
	info.Subject = subject
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.Name, info.PreferredUsername = u.Name, u.ID
	}
	if slices.Contains(scopes, oidc.ScopeEmail) {
		info.Email, info.EmailVerified = u.Email, true
	}
}

func (s *storage) SetIntrospectionFromToken(_ context.Context, resp *oidc.IntrospectionResponse, tokenID, _, clientID string) error {
	s.mu.Lock()
	t, ok := s.tokens[tokenID]
	s.mu.Unlock()
	if !ok || s.now().After(t.expires) || t.clientID != clientID {
		return errNotFound
	}
	resp.Active, resp.Subject, resp.ClientID, resp.Scope = true, t.subject, t.clientID, t.scopes
	resp.Expiration = oidc.FromTime(t.expires)
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errUnsupported
}

func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errUnsupported
}

func (s *storage) Health(context.Context) error { return nil }

// Interface guards
var (
	_ op.Storage                        = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest      = (*storage)(nil)
	_ op.CanTerminateSessionFromRequest = (*storage)(nil)
)
