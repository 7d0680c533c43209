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
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// challenge answers a decision to challenge: a bearer token that did not
// verify, a risk step-up (its score and signals in the audit event), or a
// requirement the credentials fall short of.
func (h *Handler) challenge(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, repl *caddy.Replacer, d *decision.Decision, c *credentials, v *riskVerdict) error {
	switch {
	case d.Reason == decision.ReasonInvalidToken:
		return h.refuseBearer(w, r, next, repl, d.Requirement, c.refused)
	case d.ForRisk:
		return h.fallShort(w, r, next, repl, d.Requirement, c.s, decision.RiskName, c.bearer, h.describeRisk(v, d.Reason, d.Requirement), riskLogFields(v)...)
	}
	return h.fallShort(w, r, next, repl, d.Requirement, c.s, d.Reason, c.bearer, describe(d.Reason, d.Requirement))
}

// fallShort answers a request whose credentials do not meet req: an
// RFC 9470 challenge for API clients and bearer tokens, a redirect to the
// IdP for browser navigations, or, in report-only mode, a recorded pass.
// extra is added to the audit event (a risk challenge's score and reasons).
func (h *Handler) fallShort(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, repl *caddy.Replacer, req *decision.Requirement, s *session.Session, reason string, bearer bool, description string, extra ...zap.Field) error {
	mode := "enforce"
	if req.ReportOnly {
		mode = outcomeReportOnly
	}
	h.metrics.challenges.WithLabelValues(req.Name, reason, mode).Inc()
	repl.Set("http.stepup.rule", req.Name)
	repl.Set("http.stepup.reason", reason)
	if c := h.logger.Check(zapcore.InfoLevel, "step-up required"); c != nil {
		fields := append([]zap.Field{logRule(req.Name), zap.String("reason", reason), zap.String("mode", mode),
			logSubject(h, subjectOf(s)), logClientIP(h, r), logRequest(r)}, logSession(s)...)
		if len(extra) == 0 {
			// A rule's challenge: the score, if the request was scored.
			extra = logRiskOf(h, repl)
		}
		c.Write(append(fields, extra...)...)
	}
	if req.ReportOnly {
		h.metrics.requests.WithLabelValues(outcomeReportOnly).Inc()
		if s.Valid(h.now()) {
			h.pass(r, repl, req, s, outcomeReportOnly)
		} else {
			repl.Set("http.stepup.result", outcomeReportOnly)
			h.dropOurCookies(r)
		}
		return next.ServeHTTP(w, r)
	}
	h.metrics.requests.WithLabelValues(outcomeChallenged).Inc()
	repl.Set("http.stepup.result", "challenge")
	if reason == decision.ReasonInvalidToken {
		return h.writeAPIChallenge(w, r, req, errInvalidToken, description)
	}
	if bearer || !isNavigation(r) {
		if !bearer && !resumed(r) && h.holdable(r) {
			if handled, err := h.holdThenLogin(w, r, req, s); handled {
				return err
			}
		}
		return h.writeAPIChallenge(w, r, req, errInsufficientAuth, description)
	}
	if claims := claimsOf(s); req.Loops(&claims, h.now()) {
		return h.renderFailure(w, r, fail(http.StatusForbidden, "loop",
			"You signed in, but the sign-in still does not meet this page's requirement ("+description+"). Contact your administrator.",
			fmt.Errorf("login for rule %q just completed but %s still fails", req.Name, reason)))
	}
	d, err := h.idp.ForLogin(r.Context())
	if err != nil {
		return h.idpDown(w, r, err)
	}
	return h.startLogin(w, r, d, req, s, r.URL.RequestURI(), false)
}

// refuseBearer answers a bearer token that did not verify on a path a rule
// covers: 503 while the IdP's keys cannot be fetched, else an invalid_token
// challenge.
func (h *Handler) refuseBearer(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, repl *caddy.Replacer, req *decision.Requirement, err error) error {
	if wait, down := provider.IsUnavailable(err); down {
		h.metrics.requests.WithLabelValues(outcomeError).Inc()
		return h.writeUnavailable(w, r, wait, err)
	}
	if c := h.logger.Check(zapcore.DebugLevel, "bearer token refused"); c != nil {
		c.Write(zap.String("detail", err.Error()), logRequest(r))
	}
	return h.fallShort(w, r, next, repl, req, nil, decision.ReasonInvalidToken, true, "the access token is invalid or expired")
}
