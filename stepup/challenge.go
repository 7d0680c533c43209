package stepup

import (
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/provider"
)

// challenge answers a request the decision says must step up: a bearer
// token that did not verify (503 while the IdP's keys cannot be fetched),
// a risk step-up (its score and signals in the audit event), or a
// requirement the credentials fall short of. The answer is an RFC 9470
// challenge for API clients and bearer tokens, a held form and a login for
// a browser's form submission that can be held, a redirect to the IdP for
// browser navigations, or, in report-only mode, a recorded pass.
func (h *Handler) challenge(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, repl *caddy.Replacer, d *decision.Decision, c *credentials, v *riskVerdict) error {
	req, s, reason, bearer := d.Requirement, c.s, d.Reason, c.bearer
	var description string
	var extra []zap.Field // added to the audit event
	switch {
	case reason == decision.ReasonInvalidToken:
		if wait, down := provider.IsUnavailable(c.refused); down {
			h.metrics.requests.WithLabelValues(outcomeError).Inc()
			return h.writeUnavailable(w, r, wait, c.refused)
		}
		if ce := h.logger.Check(zapcore.DebugLevel, "bearer token refused"); ce != nil {
			ce.Write(zap.String("detail", c.refused.Error()), logRequest(r))
		}
		s, bearer, description = nil, true, "the access token is invalid or expired"
	case d.ForRisk:
		reason, description, extra = decision.RiskName, h.describeRisk(v, d.Reason, req), riskLogFields(v)
	default:
		description = describe(reason, req)
	}
	mode := "enforce"
	if req.ReportOnly {
		mode = outcomeReportOnly
	}
	h.metrics.challenges.WithLabelValues(req.Name, reason, mode).Inc()
	repl.Set("http.stepup.rule", req.Name)
	repl.Set("http.stepup.reason", reason)
	if ce := h.logger.Check(zapcore.InfoLevel, "step-up required"); ce != nil {
		fields := append([]zap.Field{logRule(req.Name), zap.String("reason", reason), zap.String("mode", mode),
			logSubject(h, subjectOf(s)), logClientIP(h, r), logRequest(r)}, logSession(s)...)
		if len(extra) == 0 {
			// A rule's challenge: the score, if the request was scored.
			extra = logRiskOf(h, repl)
		}
		ce.Write(append(fields, extra...)...)
	}
	if req.ReportOnly {
		h.metrics.requests.WithLabelValues(outcomeReportOnly).Inc()
		return h.passReportOnly(w, r, next, repl, req, s)
	}
	h.metrics.requests.WithLabelValues(outcomeChallenged).Inc()
	repl.Set("http.stepup.result", "challenge")
	if bearer || !isNavigation(r) {
		if !bearer {
			if held, err := h.holdThenLogin(w, r, req, s); held {
				return err
			}
		}
		code := errInsufficientAuth
		if reason == decision.ReasonInvalidToken {
			code = errInvalidToken
		}
		return h.writeAPIChallenge(w, r, req, code, description)
	}
	if claims := claimsOf(s); req.Loops(&claims, h.now()) {
		return h.renderFailure(w, r, fail(http.StatusForbidden, "loop",
			"You signed in, but the sign-in still does not meet this page's requirement ("+description+"). Contact your administrator.",
			fmt.Errorf("login for rule %q just completed but %s still fails", req.Name, reason)))
	}
	discovery, err := h.idp.ForLogin(r.Context())
	if err != nil {
		return h.idpDown(w, r, err)
	}
	return h.startLogin(w, r, discovery, req, s, r.URL.RequestURI(), false)
}
