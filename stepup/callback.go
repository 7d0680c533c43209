package stepup

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/provider"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// clockSkew tolerates small clock differences between us and the IdP when
// comparing auth_time with the moment a login was requested.
const clockSkew = provider.ClockSkew

// loginFailure is a refused callback: the status and page shown to the user,
// and the bounded reason recorded in logs and metrics.
type loginFailure struct {
	status int
	reason string // state, nonce, token, acr, amr, auth_time, subject, idp
	msg    string // safe to show
	err    error  // details for the log only

	// retry: the IdP answered below the requirement without authenticating
	// the user for this attempt; one more attempt with prompt=login may
	// succeed where this one could not.
	retry bool
}

func (f *loginFailure) Error() string { return f.reason + ": " + f.err.Error() }
func (f *loginFailure) Unwrap() error { return f.err }

func fail(status int, reason, msg string, err error) *loginFailure {
	return &loginFailure{status: status, reason: reason, msg: msg, err: err}
}

// serveCallback completes a login: it checks the attempt belongs to this
// browser, redeems the code with its PKCE verifier, verifies the ID token
// and our own requirements, then stores the new claims and returns the
// browser to where it was going.
func (h *Handler) serveCallback(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return h.renderFailure(w, r, fail(http.StatusMethodNotAllowed, "method", "The login callback only accepts GET.", errors.New("method "+r.Method)))
	}
	if over, err := h.regulateCallback(w, r); over {
		return err
	}
	s, f, err := h.completeLogin(r)
	if old := (*outdatedFlow)(nil); errors.As(err, &old) {
		return h.restartLogin(w, r, old)
	}
	if err != nil {
		var lf *loginFailure
		if !errors.As(err, &lf) {
			lf = fail(http.StatusInternalServerError, "internal", "The login could not be completed.", err)
		}
		if f != nil {
			h.clearFlow(w, r, f.State)
		}
		if lf.reason == "state" {
			h.regulateStray(r)
		}
		if lf.retry {
			return h.retryLogin(w, r, f, lf)
		}
		h.metrics.logins.WithLabelValues("failure", lf.reason).Inc()
		return h.renderFailure(w, r, lf)
	}
	h.recordLogin(w, r, s)
	if err := h.sessions.Write(w, r, s); err != nil {
		return h.renderFailure(w, r, fail(http.StatusServiceUnavailable, "internal", "The session could not be saved; try again.", err))
	}
	h.clearFlow(w, r, f.State)
	h.regulateCompleted(r, f.Subject)
	h.metrics.logins.WithLabelValues("success", "").Inc()
	h.logger.Info("step-up completed",
		logRule(f.Rule), logACR(s.ACR), logAMR(s.AMR), logSubject(h, s.Subject), logClientIP(h, r), logRequest(r))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, h.afterLogin(r.Context(), f, s), http.StatusSeeOther)
	return nil
}

// retryLogin starts the one more attempt a refused login with lf.retry
// earns: the same requirement, return path and user, now with
// prompt=login, so an OP that reused a weaker session authenticates the
// user again. The new flow has Prompt set, so it is never retried itself.
func (h *Handler) retryLogin(w http.ResponseWriter, r *http.Request, f *flowState, lf *loginFailure) error {
	h.metrics.logins.WithLabelValues("retry", lf.reason).Inc()
	h.logger.Info("step-up retried with prompt=login: the identity provider answered with an earlier, weaker sign-in",
		logRule(f.Rule), zap.String("reason", lf.reason), zap.Error(lf.err), logRequest(r))
	d, err := h.idp.ForLogin(r.Context())
	if err != nil {
		return h.idpDown(w, r, err)
	}
	current := h.readSession(r)
	if !current.Valid(h.now()) || current.Subject != f.Subject {
		current = nil
	}
	req := f.requirement(h.policy)
	next := h.newFlow(newFlowState(h.takeFlowSlot(w, r)), req, current, f.ReturnTo, true)
	next.Held = f.Held
	return h.sendFlow(w, r, d, req, current, &next)
}

// completeLogin returns the new session, or a *loginFailure.
func (h *Handler) completeLogin(r *http.Request) (*session.Session, *flowState, error) {
	q := r.URL.Query()
	f, err := h.readFlow(r.Context(), r, q.Get("state"))
	if err != nil {
		if errors.Is(err, errFlow) {
			return nil, nil, fail(http.StatusBadRequest, "state", "This login was not started by this browser, or it took too long. Go back and try again.", err)
		}
		return nil, nil, fail(http.StatusServiceUnavailable, "internal", "The login could not be checked; try again.", err)
	}
	if code := q.Get("error"); code != "" {
		return nil, f, fail(http.StatusForbidden, "idp", "The identity provider did not complete the login ("+oauthErrorCode(code)+").", fmt.Errorf("idp returned error %q", oauthErrorCode(code)))
	}
	code := q.Get("code")
	if code == "" {
		return nil, f, fail(http.StatusBadRequest, "code", "The identity provider returned no authorization code.", errors.New("callback without code"))
	}
	raw, err := h.idp.Exchange(r.Context(), code, f.Verifier, h.redirectURI(r), h.clientSecret)
	var refused *provider.TokenRefused
	switch {
	case errors.As(err, &refused):
		return nil, f, fail(http.StatusUnauthorized, "token", "The identity provider refused the login.", fmt.Errorf("token endpoint: %s", oauthErrorCode(refused.Code)))
	case errors.Is(err, provider.ErrNoIDToken):
		return nil, f, fail(http.StatusUnauthorized, "token", "The identity provider returned no ID token.", err)
	case err != nil:
		// The IdP failing (unreachable, 5xx) is an outage, not a verdict on this login.
		return nil, f, fail(http.StatusServiceUnavailable, "idp", "The identity provider is unavailable; try again shortly.", err)
	}
	idt, err := h.idp.VerifyIDToken(r.Context(), raw, f.Nonce)
	if err != nil {
		return nil, f, idTokenRefused(err)
	}
	s, err := h.checkIDToken(idt, f)
	return s, f, err
}

// idTokenRefused is the page for an ID token the provider client refused.
func idTokenRefused(err error) *loginFailure {
	var refused *provider.Refused
	errors.As(err, &refused)
	switch {
	case refused == nil:
		return fail(http.StatusServiceUnavailable, "idp", "The identity provider is unavailable; try again shortly.", err)
	case refused.Reason == "nonce":
		return fail(http.StatusUnauthorized, "nonce", "The identity provider's answer does not belong to this login.", refused.Err)
	case refused.Reason == "incomplete":
		return fail(http.StatusUnauthorized, "token", "The identity provider's answer is incomplete.", refused.Err)
	case refused.Reason == "malformed":
		return fail(http.StatusUnauthorized, "token", "The identity provider's answer could not be read.", refused.Err)
	}
	return fail(http.StatusUnauthorized, "token", "The identity provider's answer could not be verified.", refused.Err)
}

// checkIDToken applies the checks left once the provider client has
// verified the ID token (signature, issuer, audience, expiry, nonce, sub,
// iat): that what the IdP actually did meets the rule. acr_values was only
// a request; the returned claims decide.
func (h *Handler) checkIDToken(idt *provider.IDToken, f *flowState) (*session.Session, error) {
	now := h.now()
	s := &session.Session{Subject: idt.Subject, ACR: idt.ACR, AMR: idt.AMR, Issued: now, Expires: now.Add(h.sessionLifetime), LoginRule: f.Rule, SID: idt.SID}
	var err error
	if s.AuthTime, err = provider.AuthTime(idt.AuthTime, now); err != nil {
		return nil, fail(http.StatusUnauthorized, "auth_time", "The identity provider's answer is dated in the future.", fmt.Errorf("auth_time %d is after now %d plus %s", *idt.AuthTime, now.Unix(), clockSkew))
	}
	if f.Subject != "" && !constantTimeEqual(f.Subject, idt.Subject) {
		return nil, fail(http.StatusForbidden, "subject", "You signed in as a different user. Sign out first to switch users.", errors.New("step-up returned a different subject"))
	}
	// The requirement the login was started for, carried by the flow: a
	// risk step-up has no rule to look up, and a rule may have changed.
	req := f.requirement(h.policy)
	if lf := checkAuthentication(req, s, f, now); lf != nil {
		// An OP that treats acr_values or max_age as a hint answers with the
		// session it already had. Unless it was told to authenticate again,
		// or its auth_time shows it clearly did (later than the attempt's
		// start by more than the clock skew we tolerate), ask once more with
		// prompt=login. Erring towards the retry costs at most one more
		// sign-in for a login that would be refused anyway; erring against
		// it would leave the user stuck.
		lf.retry = !f.Prompt && !s.AuthTime.After(time.Unix(f.Started, 0).Add(clockSkew))
		return nil, lf
	}
	if len(s.Subject) > session.MaxClaimLen || len(s.ACR) > session.MaxClaimLen || len(s.SID) > session.MaxClaimLen || len(s.AMR) > session.MaxAMR || slices.ContainsFunc(s.AMR, func(m string) bool { return len(m) > session.MaxClaimLen }) {
		return nil, fail(http.StatusForbidden, "token", "The identity provider's answer is too large to keep.", errors.New("claims exceed session bounds"))
	}
	return s, nil
}

// checkAuthentication reports how the login s falls short of req, the
// requirement of flow f, or nil when it meets it.
func checkAuthentication(req *decision.Requirement, s *session.Session, f *flowState, now time.Time) *loginFailure {
	if !req.ACRSatisfied(s.ACR) {
		return fail(http.StatusForbidden, "acr", "Your sign-in was not strong enough for this page. It needs: "+req.ACRValues+".", fmt.Errorf("acr %q does not satisfy %q", s.ACR, req.ACRValues))
	}
	if !s.HasAMR(req.AMR) {
		return fail(http.StatusForbidden, "amr", "Your sign-in did not use the required method.", fmt.Errorf("amr %q lacks %q", s.AMR, req.AMR))
	}
	if f.MaxAge < 0 {
		return nil
	}
	if s.AuthTime.IsZero() {
		return fail(http.StatusForbidden, "auth_time", "The identity provider did not say when you signed in.", errors.New("auth_time absent although max_age was sent"))
	}
	oldest := now.Add(-time.Duration(f.MaxAge) * time.Second)
	if f.MaxAge == 0 {
		oldest = time.Unix(f.Started, 0)
	}
	if s.AuthTime.Before(oldest.Add(-clockSkew)) {
		return fail(http.StatusForbidden, "auth_time", "This page needs a fresh sign-in, but the identity provider reused an older one.", fmt.Errorf("auth_time %s older than allowed %s", s.AuthTime.UTC().Format(time.RFC3339), oldest.UTC().Format(time.RFC3339)))
	}
	return nil
}

// oauthErrorCode reduces an IdP-supplied error code to the OAuth character
// set so it is safe in pages and logs.
func oauthErrorCode(code string) string {
	b := make([]byte, 0, min(len(code), 64))
	for i := 0; i < len(code) && len(b) < 64; i++ {
		if c := code[i]; c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
			b = append(b, c)
		}
	}
	if len(b) == 0 {
		return "unknown_error"
	}
	return string(b)
}
