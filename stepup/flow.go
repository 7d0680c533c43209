package stepup

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/provider"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// flowState is what one login attempt must remember between the redirect to
// the IdP and the callback. It lives in its own short-lived encrypted
// cookie, named after the attempt's slot (flowslots.go), so several tabs
// can log in at once while the cookies stay bounded.
//
// It carries the exact requirement the login was started for (rule name,
// acr, amr, max_age), so the callback checks what was asked for even when
// that requirement has no rule of its own (a risk step-up) or a reload has
// changed the rule meanwhile.
type flowState struct {
	Version  int      `json:"e"` // flowVersion; older flows named only their rule
	State    string   `json:"s"`
	Nonce    string   `json:"n"`
	Verifier string   `json:"v"`
	ReturnTo string   `json:"r"`
	Rule     string   `json:"u"`
	ACR      []string `json:"a,omitempty"`
	AMR      []string `json:"w,omitempty"`
	Subject  string   `json:"b,omitempty"` // set on step-up: the login must keep this user
	MaxAge   int64    `json:"m"`           // seconds; -1 when the rule sets none
	Started  int64    `json:"t"`           // unix seconds
	Prompt   bool     `json:"p,omitempty"` // prompt=login was sent: the IdP was told to authenticate again
	Held     string   `json:"h,omitempty"` // started for a held form: the state it is bound to, kept by a retry (resume.go)
}

// flowVersion marks flow cookies that carry their requirement. A flow
// from before (it names only a rule) is never checked against whatever
// that name means now: its login starts over (flowrestart.go).
const flowVersion = 2

// requirement is what the callback must check: the one the flow was
// started for.
func (f *flowState) requirement(p *decision.Policy) *decision.Requirement {
	var maxAge *time.Duration
	if f.MaxAge >= 0 {
		d := time.Duration(f.MaxAge) * time.Second
		maxAge = &d
	}
	return p.Recreate(f.Rule, f.ACR, f.AMR, maxAge)
}

// Flow cookies are scoped to the callback path and live only as long as a
// login may reasonably take.
const (
	flowLifetime     = 10 * time.Minute
	flowCookiePrefix = "stepup_flow_"
	flowNameIDLen    = 1 // characters of the state used in the cookie name: its slot (flowslots.go)
	minStateLen      = 16
	flowPurpose      = "flow"
)

var errFlow = errors.New("login attempt unknown, expired or started elsewhere")

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// flowCookieName is the flow cookie of the attempt with state: named after
// its slot, so a new attempt in the slot replaces the old one's cookie.
func (h *Handler) flowCookieName(r *http.Request, state string) string {
	return h.cookies.For(r).FlowPrefix + state[:flowNameIDLen]
}

// startLogin redirects the browser to the IdP for req. It is the only place
// that builds an authorization request, so every login carries PKCE, state
// and nonce. reauth asks the IdP to authenticate the user again whatever
// session it holds (prompt=login; see needsReauth).
func (h *Handler) startLogin(w http.ResponseWriter, r *http.Request, d *provider.Discovery, req *decision.Requirement, current *session.Session, returnTo string, reauth bool) error {
	f := h.newFlow(newFlowState(h.takeFlowSlot(w, r)), req, current, returnTo, reauth)
	return h.sendFlow(w, r, d, req, current, &f)
}

// newFlow is a new login attempt for req with state, a newFlowState whose
// slot the caller took (flowslots.go). A caller may add to it (a held
// form's binding) before sendFlow.
func (h *Handler) newFlow(state string, req *decision.Requirement, current *session.Session, returnTo string, reauth bool) flowState {
	now := h.now()
	f := flowState{
		Version:  flowVersion,
		State:    state,
		Nonce:    randomToken(),
		Verifier: oauth2.GenerateVerifier(),
		ReturnTo: safeReturnPath(returnTo, "/"),
		Rule:     req.Name,
		ACR:      req.ACR,
		AMR:      req.AMR,
		MaxAge:   -1,
		Started:  now.Unix(),
	}
	if req.HasMaxAge {
		f.MaxAge = int64(req.MaxAge.Seconds())
	}
	if current.Valid(now) {
		f.Subject = current.Subject
	}
	f.Prompt = reauth || h.needsReauth(req, current, now)
	return f
}

// sendFlow seals f into its flow cookie and redirects the browser to the
// IdP.
func (h *Handler) sendFlow(w http.ResponseWriter, r *http.Request, d *provider.Discovery, req *decision.Requirement, current *session.Session, f *flowState) error {
	if over, err := h.regulateStart(w, r, current); over {
		return err
	}
	plain, err := json.Marshal(f)
	if err != nil {
		return err
	}
	sealed, err := h.sealer.Seal(r.Context(), flowPurpose, plain)
	if err != nil {
		return err
	}
	h.cookies.Set(w, r, &http.Cookie{
		Name:   h.flowCookieName(r, f.State),
		Value:  sealed,
		Path:   h.CallbackPath,
		MaxAge: int(flowLifetime.Seconds()),
	})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, h.authorizeURL(r, d, req, f, current), http.StatusFound)
	return nil
}

// authorizeURL builds the authorization request for req and flow f.
func (h *Handler) authorizeURL(r *http.Request, d *provider.Discovery, req *decision.Requirement, f *flowState, current *session.Session) string {
	a := provider.AuthRequest{
		RedirectURI: h.redirectURI(r),
		Scopes:      h.scopes,
		State:       f.State,
		Nonce:       f.Nonce,
		Verifier:    f.Verifier,
		PromptLogin: f.Prompt,
		Extra:       h.Provider.AuthParams,
	}
	valid := current.Valid(h.now())
	switch {
	case req.ACRValues != "":
		a.ACRValues, a.EssentialACR = req.ACRValues, req.ACR
	case valid && current.ACR != "":
		// A rule that only asks for recency should not cost the user the
		// strength they already have: ask for the same level again (a
		// request only; the callback does not demand it).
		a.ACRValues = current.ACR
	}
	if req.HasMaxAge {
		a.MaxAge = req.MaxAgeSec
	}
	if valid {
		a.LoginHint = current.Subject
	}
	return d.AuthorizeURL(a)
}

// needsReauth decides whether the authorization request says prompt=login.
//
//   - max_age 0 ("a fresh login for every request") always does.
//   - A session that is valid but whose acr or amr falls short does, unless
//     the provider's step_up_prompt is retry: many OPs treat acr_values as
//     a hint and, holding a live session of a lower level, answer with it
//     without authenticating again, so the step-up could never succeed.
//   - Recency alone (max_age N) does not: max_age makes the OP
//     re-authenticate a login older than N, and an OP may treat
//     prompt=login as max_age=0, which would make every recency rule that
//     strict. The callback checks auth_time whatever the OP did.
//
// Whatever is sent, a login the OP answers below the requirement without
// a new authentication is retried once with prompt=login (callback.go).
func (h *Handler) needsReauth(req *decision.Requirement, current *session.Session, now time.Time) bool {
	if req.HasMaxAge && req.MaxAge == 0 {
		return true
	}
	if h.Provider.StepUpPrompt == stepUpPromptRetry || !current.Valid(now) {
		return false
	}
	return !req.ACRSatisfied(current.ACR) || !current.HasAMR(req.AMR)
}

// readFlow finds and opens the flow cookie for state.
func (h *Handler) readFlow(ctx context.Context, r *http.Request, state string) (*flowState, error) {
	if len(state) < minStateLen || len(state) > 128 || !isFlowSlot(state[0]) {
		return nil, errFlow
	}
	raw, ok := session.CookieValue(r.Header, h.flowCookieName(r, state))
	if !ok {
		return nil, errFlow
	}
	plain, err := h.sealer.Open(ctx, flowPurpose, raw)
	if errors.Is(err, session.ErrSealed) {
		return nil, errFlow
	}
	if err != nil {
		return nil, err
	}
	var f flowState
	if json.Unmarshal(plain, &f) != nil || !constantTimeEqual(f.State, state) {
		return nil, errFlow
	}
	if h.now().Sub(time.Unix(f.Started, 0)) > flowLifetime {
		return nil, errFlow
	}
	if f.Version != flowVersion {
		return nil, &outdatedFlow{state: state, returnTo: f.ReturnTo}
	}
	return &f, nil
}

func (h *Handler) clearFlow(w http.ResponseWriter, r *http.Request, state string) {
	h.cookies.Set(w, r, &http.Cookie{
		Name: h.flowCookieName(r, state), Value: "", Path: h.CallbackPath, MaxAge: -1,
	})
}

// outdatedFlow is a flow cookie of ours, for this attempt and still fresh,
// written by an earlier version that did not record the requirement the
// login was for (an upgrade happened during the login). It wraps errFlow,
// so whatever only knows errFlow refuses it as before.
type outdatedFlow struct {
	state    string
	returnTo string
}

func (e *outdatedFlow) Error() string { return "login attempt started by an earlier version" }

func (e *outdatedFlow) Unwrap() error { return errFlow }
