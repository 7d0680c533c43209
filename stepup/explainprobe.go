package stepup

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/provider"
	"github.com/caddy-stepup/caddy-stepup/stepup/risk"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// explainRuns are the handlers explain lets act on the request: they only
// rewrite it or answer from memory, and what they do can change what a
// stepup handler sees (a rewrite) or whether it is reached (a respond).
// Any other handler (reverse_proxy, file_server, forward_auth, ...) is where
// explain stops: it records the module and never runs it.
var explainRuns = map[string]bool{
	"http.handlers.vars":            true,
	"http.handlers.map":             true,
	"http.handlers.rewrite":         true,
	"http.handlers.headers":         true,
	"http.handlers.request_body":    true,
	"http.handlers.static_response": true,
	"http.handlers.error":           true,
	"http.handlers.authentication":  true,
	"http.handlers.encode":          true,
	"http.handlers.log_append":      true,
}

// explainProbe runs the real stepup handler and records its decision.
type explainProbe struct {
	h   *Handler
	rec *explainRecorder
}

func (p *explainProbe) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	step := &explainedStep{}
	p.rec.steps = append(p.rec.steps, step)
	p.rec.offline(p.h, step)
	if err := p.rec.describeSession(p.h, r); err != nil {
		return err
	}
	// What the handler demands of this request: the decision it acts on.
	p.h.decided = func(d decision.Decision) { p.show(step, d) }
	defer func() { p.h.decided = nil }()
	err := p.h.ServeHTTP(w, r, caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		step.passed = true
		p.read(step, r)
		return next.ServeHTTP(w, r)
	}))
	if !step.passed {
		p.read(step, r)
	}
	// Only a browser navigation is sent to the IdP; anything else that
	// turned to it was checking a bearer token against the IdP's keys.
	step.loginRedirect = step.NeedsIdP && isNavigation(r)
	return err
}

// read copies the handler's placeholders into the step.
func (p *explainProbe) read(step *explainedStep, r *http.Request) {
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if repl == nil {
		return
	}
	get := func(key string) string { v, _ := repl.GetString(key); return v }
	step.Rule, step.Result, step.Reason = get("http.stepup.rule"), get("http.stepup.result"), get("http.stepup.reason")
	step.RiskScore, step.RiskReasons = get("http.stepup.risk.score"), get("http.stepup.risk.reasons")
}

// show records what the decision asked of the request: the risk step-up's
// requirement when the risk score brought it in (or denied a request no
// rule covers), else the matched rule's; report-only is the rule's.
func (p *explainProbe) show(step *explainedStep, d decision.Decision) {
	req := d.Matched
	switch {
	case d.ForRisk:
		req = d.Requirement
	case d.Outcome == decision.Deny && req == nil:
		req = p.h.policy.Risk()
	}
	if req != nil {
		step.ACR, step.AMR, step.MaxAge = req.ACRValues, strings.Join(req.AMR, " "), maxAgeText(req)
	}
	if d.Matched != nil {
		step.ReportOnly = d.Matched.ReportOnly
	}
}

// offline gives the handler an IdP client that never leaves the process:
// a request that needs the IdP is recorded as such instead.
func (rec *explainRecorder) offline(h *Handler, step *explainedStep) {
	if rec.idps == nil {
		rec.idps = map[*Handler]*explainNoIdP{}
	}
	t, ok := rec.idps[h]
	if !ok {
		t = &explainNoIdP{}
		rec.idps[h] = t
		h.idp = provider.New(h.idpKey(), provider.Options{Now: h.now, Transport: t})
		// explain reports what the handler decided; its audit events (and
		// the outage warning the offline IdP would cause) are noise here.
		h.logger = zap.NewNop()
	}
	t.step = step
}

// explainNoIdP fails every call to the IdP and marks the step being
// explained as one that needs it.
type explainNoIdP struct{ step *explainedStep }

var errExplainNoIdP = errors.New("explain does not contact the identity provider")

func (t *explainNoIdP) RoundTrip(*http.Request) (*http.Response, error) {
	t.step.NeedsIdP = true
	return nil, errExplainNoIdP
}

// describeSession gives the request the session the query describes,
// sealed with this handler's own keys (in explain's throwaway storage), and
// the device cookie and login baseline the risk engine compares against.
func (rec *explainRecorder) describeSession(h *Handler, r *http.Request) error {
	q := rec.q
	var device uint64
	if h.risk != nil && h.riskConfig.NewDevice != nil {
		deviceID := risk.NewDeviceID()
		r.AddCookie(&http.Cookie{Name: h.cookies.For(r).Device, Value: deviceID})
		loginDevice := deviceID
		if q.Device == "new" {
			loginDevice = risk.NewDeviceID() // the login was made on another device
		}
		device = risk.DeviceHash(loginDevice, r.UserAgent(), platformHint(r))
	}
	if !q.hasSession() {
		return nil
	}
	now := h.now()
	subject := q.Subject
	if subject == "" {
		subject = "explain-user"
	}
	s := &session.Session{Subject: subject, ACR: q.ACR, AMR: q.AMR, AuthTime: now.Add(-q.AuthAge), Issued: now.Add(-q.AuthAge), Expires: now.Add(h.sessionLifetime)}
	if h.risk != nil {
		loginIP := q.LoginIP
		if loginIP == "" {
			loginIP = q.IP
		}
		s.Login = h.risk.Record(&risk.Request{Now: s.AuthTime, ClientIP: netip.MustParseAddr(loginIP), Device: device})
		s.HasLogin = true
	}
	minted := httptest.NewRecorder()
	if err := h.sessions.Write(minted, r, s); err != nil {
		return err
	}
	for _, c := range minted.Result().Cookies() {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return nil
}
