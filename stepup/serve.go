package stepup

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	switch r.URL.Path {
	case h.CallbackPath:
		return h.serveCallback(w, r)
	case h.LoginPath:
		return h.serveLogin(w, r)
	case h.LogoutPath:
		return h.serveLogout(w, r)
	case h.resumePath():
		return h.serveResume(w, r, next)
	case h.BackchannelLogoutPath:
		if h.BackchannelLogoutPath != "" {
			return h.serveBackchannelLogout(w, r)
		}
	}
	if h.asserter != nil && r.URL.Path == h.asserter.jwksPath {
		return h.serveJWKS(w, r)
	}
	h.stripIdentityHeaders(r.Header)
	req, err := h.requirementFor(r)
	if err != nil {
		h.metrics.requests.WithLabelValues(outcomeError).Inc()
		return caddyhttp.Error(http.StatusBadRequest, err)
	}
	if req == nil && h.risk == nil {
		h.metrics.passedNoRule.Inc()
		h.dropOurCookies(r)
		return next.ServeHTTP(w, r)
	}
	repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)

	// Credentials: a bearer token (API clients) or the session cookie.
	// On a path no rule covers, a bearer token is ours to judge only when
	// bearer tokens are enabled, and one that does not verify is ignored:
	// an upstream API there may do its own bearer auth with other tokens.
	s, bearer := (*session)(nil), false
	if token, ok := bearerToken(r); ok && (req != nil || len(h.BearerAudiences) > 0) {
		s, err = h.verifyBearer(r, token)
		switch {
		case err == nil:
			bearer = true
		case req != nil:
			return h.refuseBearer(w, r, next, repl, req, err)
		default:
			s = nil
		}
	}
	if !bearer {
		if s, err = h.checkRevoked(w, h.readSession(r), req != nil); err != nil {
			return err
		}
	}

	v := h.assessRisk(w, r, repl, req, s)
	if v.deny {
		if !h.riskReq.reportOnly {
			return h.denyRisky(w, r, repl, ruleNameOf(req), &v)
		}
		h.recordWouldDeny(r, req, &v)
	}
	if req != nil {
		if reason := req.check(s, h.now(), h.levels); reason != "" {
			return h.fallShort(w, r, next, repl, req, s, reason, bearer, describe(reason, req))
		}
	}
	if v.stepUp {
		if reason := h.riskReq.check(s, h.now(), h.levels); reason != "" {
			return h.fallShort(w, r, next, repl, h.riskReq, s, riskRuleName, bearer, h.describeRisk(&v, reason, h.riskReq), riskLogFields(&v)...)
		}
	}
	if fresh := h.freshPassFor(req, v.stepUp || h.spendsRiskPass(s)); fresh != nil && !bearer {
		ok, err := h.spendFreshPass(w, r, s)
		if err != nil {
			return err
		}
		if !ok {
			return h.fallShort(w, r, next, repl, fresh, s, reasonMaxAge, bearer, describe(reasonMaxAge, fresh))
		}
	}
	if req == nil && v.stepUp {
		req = h.riskReq
	}
	if req == nil {
		h.metrics.passedNoRule.Inc()
		h.dropOurCookies(r)
		return next.ServeHTTP(w, r)
	}
	h.metrics.passed.Inc()
	h.pass(r, repl, req, s, outcomePass)
	return next.ServeHTTP(w, r)
}
