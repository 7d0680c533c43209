package stepup

import (
	"encoding/json"
	"net/http"
	"time"

	"golang.org/x/oauth2"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/provider"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// startLogin redirects the browser to the IdP for req. It is the only place
// that builds an authorization request, so every login carries PKCE, state
// and nonce. reauth asks the IdP to authenticate the user again whatever
// session it holds (prompt=login; see needsReauth).
func (h *Handler) startLogin(w http.ResponseWriter, r *http.Request, d *provider.Discovery, req *decision.Requirement, current *session.Session, returnTo string, reauth bool) error {
	f := h.newFlow(newFlowState(h.takeFlowSlot(w, r)), req, current, returnTo, reauth)
	return h.sendFlow(w, r, d, req, current, &f)
}

// newFlow is a new login attempt for req with state, a newFlowState whose
// slot the caller took (flowcookie.go). A caller may add to it (a held
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
		return err // before the URL is built: a flood of refused starts costs no PKCE hash
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
// a new authentication is retried once with prompt=login (idtokencheck.go, retrylogin.go).
func (h *Handler) needsReauth(req *decision.Requirement, current *session.Session, now time.Time) bool {
	if req.HasMaxAge && req.MaxAge == 0 {
		return true
	}
	if h.Provider.StepUpPrompt == stepUpPromptRetry || !current.Valid(now) {
		return false
	}
	return !req.ACRSatisfied(current.ACR) || !current.HasAMR(req.AMR)
}
