package stepup

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
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

// accessTokenClaims are the claims an access token is judged by.
type accessTokenClaims struct {
	ACR      string   `json:"acr"`
	AMR      []string `json:"amr"`
	AuthTime *int64   `json:"auth_time"`
	Nonce    string   `json:"nonce"`
	AtHash   string   `json:"at_hash"`
}

// refuseBearer answers a bearer token that did not verify on a path a rule
// covers: 503 while the IdP's keys cannot be fetched, else an invalid_token
// challenge.
func (h *Handler) refuseBearer(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, repl *caddy.Replacer, req *decision.Requirement, err error) error {
	if wait, down := unavailable(err); down {
		h.metrics.requests.WithLabelValues(outcomeError).Inc()
		return h.writeUnavailable(w, r, wait, err)
	}
	if c := h.logger.Check(zapcore.DebugLevel, "bearer token refused"); c != nil {
		c.Write(zap.String("detail", err.Error()), logRequest(r))
	}
	return h.fallShort(w, r, next, repl, req, nil, decision.ReasonInvalidToken, true, "the access token is invalid or expired")
}

var errBearerRefused = errors.New("bearer token refused")

// verifyBearer checks signature, issuer and expiry (go-oidc), then that the
// token is meant for us (aud) and is an access token, not an ID token
// replayed as one: typed at+jwt (RFC 9068) unless insecure_bearer_untyped,
// and without an ID token's nonce or at_hash in any case.
func (h *Handler) verifyBearer(r *http.Request, token string) (*session, error) {
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
	d, err := h.idp.get(r.Context())
	if err != nil {
		return nil, err
	}
	t, err := d.accessTokens.Verify(h.idp.ctx(r.Context()), token)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(t.Audience, func(a string) bool { return slices.Contains(h.BearerAudiences, a) }) {
		return nil, errors.New("audience not accepted")
	}
	var c accessTokenClaims
	if err := t.Claims(&c); err != nil {
		return nil, err
	}
	if c.Nonce != "" || c.AtHash != "" || t.Subject == "" {
		return nil, errors.New("not an access token")
	}
	if !h.InsecureBearerUntyped && !isAccessTokenType(token) {
		return nil, errUntypedAccessToken
	}
	authTime, err := authTimeOf(c.AuthTime, now)
	if err != nil {
		return nil, err
	}
	s := &session{Subject: t.Subject, ACR: c.ACR, AMR: c.AMR, AuthTime: authTime, Issued: t.IssuedAt, Expires: t.Expiry}
	h.bearers.put(key, s, now)
	return s, nil
}
