package stepup

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// A login attempt's state between the redirect to the IdP and the
// callback: its sealed flow cookie, the slot that names it, reading it
// back and clearing it. The login start (flow.go), the held form's login
// (holdlogin.go) and the callback (callback.go) share it; it calls nothing
// of theirs.

// flowState is what one login attempt must remember between the redirect to
// the IdP and the callback. It lives in its own short-lived encrypted
// cookie, named after the attempt's slot (takeFlowSlot), so several tabs
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
	flowNameIDLen    = 1 // characters of the state used in the cookie name: its slot (takeFlowSlot)
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

// readFlow finds and opens the flow cookie for state.
func (h *Handler) readFlow(ctx context.Context, r *http.Request, state string) (*flowState, error) {
	if len(state) < minStateLen || len(state) > 128 || !isFlowSlot(state[0]) {
		return nil, errFlow
	}
	name := h.flowCookieName(r, state)
	raw, ok := session.CookieValue(r.Header, name)
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

// maxFlows bounds the logins a browser can have in progress at once. Each
// attempt has its own flow cookie (up to about 2 KB with a long return
// path), and all of them travel to the callback: unbounded, abandoned
// attempts piled up until the callback's request headers grew too large
// (431). Flow cookies are named after one of maxFlows slots, taken in turn,
// so a new attempt replaces the oldest one's cookie: that attempt's
// callback is then refused as unknown, and its user simply starts again.
const maxFlows = 4

// flowNextCookie remembers, for the login start (which does not see the
// flow cookies: they are scoped to the callback path), which slot the next
// attempt takes. It lives as long as a flow and says nothing but a digit.
const flowNextCookie = flowCookiePrefix + "next"

// takeFlowSlot returns the slot the new attempt uses, the one after the
// latest attempt's (the oldest of the slots), and moves the counter on.
// Two attempts started at the same instant may take the same slot; the
// later one then replaces the earlier.
func (h *Handler) takeFlowSlot(w http.ResponseWriter, r *http.Request) byte {
	slot := h.nextFlowSlot(r)
	h.passFlowSlot(w, r, slot)
	return slot
}

// nextFlowSlot is the slot the next attempt takes, without taking it.
func (h *Handler) nextFlowSlot(r *http.Request) byte {
	if v, ok := session.CookieValue(r.Header, h.cookies.For(r).FlowNext); ok && len(v) == 1 && isFlowSlot(v[0]) {
		return v[0]
	}
	return '0'
}

// passFlowSlot moves the counter past slot, once an attempt has taken it.
func (h *Handler) passFlowSlot(w http.ResponseWriter, r *http.Request, slot byte) {
	next := '0' + (slot-'0'+1)%maxFlows
	h.cookies.Set(w, r, &http.Cookie{
		Name: h.cookies.For(r).FlowNext, Value: string(rune(next)), Path: "/", MaxAge: int(flowLifetime.Seconds()),
	})
}

func isFlowSlot(c byte) bool { return c >= '0' && c < '0'+maxFlows }

// newFlowState is a state for an attempt in slot: the slot's digit, which
// names the flow cookie, then 43 random characters.
func newFlowState(slot byte) string { return strconv.Itoa(int(slot-'0')) + randomToken() }
