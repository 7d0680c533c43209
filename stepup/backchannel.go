package stepup

import (
	"errors"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-stepup/caddy-stepup/stepup/provider"
	"github.com/caddy-stepup/caddy-stepup/stepup/state"
)

// maxLogoutRequestBytes bounds a back-channel logout request body; a
// logout token is a few hundred bytes.
const maxLogoutRequestBytes = 16 << 10

// serveBackchannelLogout implements the relying party's side of OpenID
// Connect Back-Channel Logout 1.0: the IdP POSTs a signed logout_token,
// and the sessions it names, issued before now, are revoked on every
// replica that shares the state store. Any invalid token is answered 400
// and changes nothing; an IdP or store outage is answered 503 (the IdP may
// retry).
func (h *Handler) serveBackchannelLogout(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return caddyhttp.Error(http.StatusMethodNotAllowed, errors.New("back-channel logout: method "+r.Method))
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(strings.ToLower(ct), "application/x-www-form-urlencoded") {
		return h.refuseLogout(w, "content_type", errors.New("content type is not a form"))
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLogoutRequestBytes)
	if err := r.ParseForm(); err != nil {
		return h.refuseLogout(w, "malformed", err)
	}
	tokens := r.PostForm["logout_token"]
	if len(tokens) != 1 || tokens[0] == "" {
		return h.refuseLogout(w, "malformed", errors.New("want exactly one logout_token"))
	}
	c, err := h.idp.VerifyLogoutToken(r.Context(), tokens[0])
	var refused *provider.Refused
	if errors.As(err, &refused) {
		return h.refuseLogout(w, refused.Reason, refused.Err)
	}
	if err != nil {
		revocationMetrics.backchannel.WithLabelValues("idp_unavailable").Inc()
		return caddyhttp.Error(http.StatusServiceUnavailable, err)
	}
	now := h.now()
	if err := c.Current(now); err != nil {
		return h.refuseLogout(w, "expired", err)
	}
	first, err := h.store.Claim(r.Context(), "logout_jti", h.stateScope()+c.JTI, provider.LogoutJTITTL)
	if err != nil {
		revocationMetrics.backchannel.WithLabelValues("store_unavailable").Inc()
		return caddyhttp.Error(http.StatusServiceUnavailable, err)
	}
	if !first {
		return h.refuseLogout(w, "replayed", errors.New("jti already used"))
	}
	rv := state.Revocation{Issuer: h.Provider.Issuer, Subject: c.Subject, SID: c.SID, Before: now.Unix()}
	if err := h.store.Revoke(r.Context(), rv); err != nil {
		revocationMetrics.backchannel.WithLabelValues("store_unavailable").Inc()
		return caddyhttp.Error(http.StatusServiceUnavailable, err)
	}
	revocationMetrics.backchannel.WithLabelValues("revoked").Inc()
	h.logger.Info("back-channel logout: sessions revoked",
		zap.Bool("by_sid", c.SID != ""), logSubject(h, c.Subject), logClientIP(h, r))
	w.WriteHeader(http.StatusOK)
	return nil
}

// refuseLogout answers 400 as the specification asks, with the reason in
// the log and the metric only.
func (h *Handler) refuseLogout(w http.ResponseWriter, reason string, err error) error {
	revocationMetrics.backchannel.WithLabelValues(reason).Inc()
	h.logger.Info("back-channel logout refused", zap.String("reason", reason), zap.Error(err))
	return caddyhttp.Error(http.StatusBadRequest, errors.New("back-channel logout refused: "+reason))
}
