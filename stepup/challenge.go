package stepup

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

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

func subjectOf(s *session.Session) string {
	if s == nil {
		return ""
	}
	return s.Subject
}

// challengeBody is the JSON answer to an API client that must step up.
type challengeBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ACRValues        string `json:"acr_values,omitempty"`
	MaxAge           *int64 `json:"max_age,omitempty"`
	StepUpURL        string `json:"step_up_url"`
}

// RFC 9470 and RFC 6750 error codes.
const (
	errInsufficientAuth = "insufficient_user_authentication"
	errInvalidToken     = "invalid_token"
)

// writeAPIChallenge answers 401 with an RFC 9470 WWW-Authenticate challenge
// and a small JSON body carrying the URL a browser can open to step up
// (also in {http.stepup.step_up_url}, for handle_errors).
func (h *Handler) writeAPIChallenge(w http.ResponseWriter, r *http.Request, req *decision.Requirement, code, description string) error {
	w.Header().Set("WWW-Authenticate", authenticateHeader(code, description, req))
	w.Header().Set("Cache-Control", "no-store")
	body := challengeBody{Error: code, ErrorDescription: description, ACRValues: req.ACRValues, StepUpURL: h.stepUpURL(r, req)}
	if req.HasMaxAge {
		sec := int64(req.MaxAge / time.Second)
		body.MaxAge = &sec
	}
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		repl.Set("http.stepup.step_up_url", body.StepUpURL)
	}
	return h.refuse(w, r, refusal{status: http.StatusUnauthorized, code: code, description: description, json: body})
}

// authenticateHeader renders `Bearer error="…", error_description="…",
// acr_values="…", max_age=N`. Values are reduced to the characters RFC 6750
// allows inside the quoted strings, so nothing can break out of the header.
func authenticateHeader(code, description string, req *decision.Requirement) string {
	var b strings.Builder
	b.WriteString(`Bearer error="`)
	b.WriteString(quotedSafe(code))
	b.WriteString(`", error_description="`)
	b.WriteString(quotedSafe(description))
	b.WriteByte('"')
	if req != nil && req.ACRValues != "" {
		b.WriteString(`, acr_values="`)
		b.WriteString(quotedSafe(req.ACRValues))
		b.WriteByte('"')
	}
	if req != nil && req.HasMaxAge {
		b.WriteString(", max_age=")
		b.WriteString(req.MaxAgeSec)
	}
	return b.String()
}

// quotedSafe keeps %x20-21 / %x23-5B / %x5D-7E, the RFC 6750 set for
// error_description, which also excludes the quote and backslash.
func quotedSafe(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x20 && c <= 0x7e && c != '"' && c != '\\' {
			b = append(b, c)
		}
	}
	return string(b)
}

// stepUpURL is our login endpoint for the rule. It returns to the current
// page for reads; a write is never replayed, so it returns to the page the
// write came from (a same-origin Referer) or the site root.
func (h *Handler) stepUpURL(r *http.Request, req *decision.Requirement) string {
	ret := "/"
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		ret = safeReturnPath(r.URL.RequestURI(), "/")
	} else if ref, err := url.Parse(r.Referer()); err == nil && ref.Scheme+"://"+ref.Host == h.origin(r) {
		ret = safeReturnPath(ref.RequestURI(), "/")
	}
	q := url.Values{"return_to": {ret}}
	if req.Name != decision.DefaultName {
		q.Set("rule", req.Name)
	}
	return h.origin(r) + h.LoginPath + "?" + q.Encode()
}

// describe explains, for people and for error_description, why a request
// needs a stronger or fresher login.
func describe(reason string, req *decision.Requirement) string {
	switch reason {
	case decision.ReasonNoSession:
		return "authentication required"
	case decision.ReasonACR:
		return "a stronger authentication is required (acr " + req.ACRValues + ")"
	case decision.ReasonAMR:
		return "authentication with " + strings.Join(req.AMR, ", ") + " is required"
	case decision.ReasonMaxAge:
		if req.MaxAge == 0 {
			return "a fresh authentication is required for this request"
		}
		return "authentication more recent than " + req.MaxAge.String() + " is required"
	}
	return reason
}

// describeRisk explains a risk step-up for people and error_description.
// The score and the signals that fired stay out of it unless the risk block
// sets expose_reasons: they would tell an attacker which signal to evade.
// The audit event always carries them (riskLogFields).
func (h *Handler) describeRisk(v *riskVerdict, reason string, req *decision.Requirement) string {
	if h.riskConfig.ExposeReasons {
		return "risk score " + strconv.Itoa(v.result.Score) + " (" + v.result.Reasons() + "): " + describe(reason, req)
	}
	return "additional verification is required: " + describe(reason, req)
}

// riskLogFields are a risk decision's score and per-signal reasons for
// the audit log.
func riskLogFields(v *riskVerdict) []zap.Field {
	return []zap.Field{zap.Int("risk_score", v.result.Score), zap.String("risk_reasons", v.result.Reasons())}
}
