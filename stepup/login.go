package stepup

import (
	"net/http"

	"go.uber.org/zap"
)

// serveLogin starts a login from a link, such as the step_up_url an API
// challenge hands out: `?rule=<name>&return_to=<path>`. Naming a rule only
// chooses what to ask the IdP for; every later request is judged afresh,
// so a caller gains nothing by picking a weaker rule here.
func (h *Handler) serveLogin(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return h.refuse(w, r, refusal{status: http.StatusMethodNotAllowed, code: errBadRequest, description: "The login endpoint only accepts GET."})
	}
	q := r.URL.Query()
	req, ok := h.policy.Login(q.Get("rule"))
	if !ok {
		return h.refuse(w, r, refusal{status: http.StatusBadRequest, code: errBadRequest, description: "This login link names a rule that does not exist."})
	}
	d, err := h.idp.ForLogin(r.Context())
	if err != nil {
		return h.idpDown(w, r, err)
	}
	returnTo := q.Get("return_to")
	if returnTo != "" && !isSafeReturnPath(returnTo) {
		// Length only: the value is attacker-chosen and may be long or odd.
		h.logger.Warn("login: return_to is not a same-site path; using /",
			zap.String("reason", "return_to"), zap.Int("length", len(returnTo)), logRequest(r))
		returnTo = "/"
	}
	return h.startLogin(w, r, d, req, h.readSession(r), safeReturnPath(returnTo, "/"), false)
}
