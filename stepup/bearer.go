package stepup

import (
	"errors"
	"net/http"
	"strings"

	"github.com/caddy-stepup/caddy-stepup/stepup/provider"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// maxBearerLen refuses absurd tokens before any parsing.
const maxBearerLen = 8192

// bearerToken extracts an `Authorization: Bearer` credential.
func bearerToken(r *http.Request) (string, bool) {
	auth := r.Header.Get("Authorization")
	if len(auth) < 7 || !strings.EqualFold(auth[:7], "bearer ") {
		return "", false
	}
	return strings.TrimSpace(auth[7:]), true
}

var errBearerRefused = errors.New("bearer token refused")

// verifyBearer returns the session an access token stands for: verified
// by the provider client (signature, issuer, expiry, one of our audiences,
// an access token and not an ID token; typed at+jwt unless
// insecure_bearer_untyped), or remembered from an earlier request.
func (h *Handler) verifyBearer(r *http.Request, token string) (*session.Session, error) {
	if len(h.BearerAudiences) == 0 {
		return nil, errors.New("bearer tokens are not enabled (bearer_audience)")
	}
	if token == "" || len(token) > maxBearerLen {
		return nil, errBearerRefused
	}
	// A token that verified before is not verified again (bearercache.go).
	key, now := bearerKey(token), h.now()
	if s := h.bearers.get(key, now); s != nil {
		return s, nil
	}
	t, err := h.idp.VerifyAccessToken(r.Context(), token, h.BearerAudiences, h.InsecureBearerUntyped)
	if err != nil {
		return nil, err
	}
	authTime, err := provider.AuthTime(t.AuthTime, now)
	if err != nil {
		return nil, err
	}
	s := &session.Session{Subject: t.Subject, ACR: t.ACR, AMR: t.AMR, AuthTime: authTime, Issued: t.IssuedAt, Expires: t.Expiry}
	h.bearers.put(key, s, now)
	return s, nil
}
