package stepup

import (
	"net/http"
	"net/url"

	"go.uber.org/zap"
)

// serveLogin starts a login from a link, such as the step_up_url an API
// challenge hands out: `?rule=<name>&return_to=<path>`. Naming a rule only
// chooses what to ask the IdP for; every later request is judged afresh,
// so a caller gains nothing by picking a weaker rule here.
func (h *Handler) serveLogin(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return nil
	}
	q := r.URL.Query()
	req := h.defaultReq
	if name := q.Get("rule"); name != "" {
		req = nil
		for _, rule := range h.Rules {
			if rule.Name == name {
				req = rule.req
			}
		}
		if req == nil {
			http.Error(w, "unknown rule", http.StatusBadRequest)
			return nil
		}
	}
	d, err := h.idp.get(r.Context())
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

// serveLogout clears the session and, when idp_logout is on and the IdP
// advertises an end_session_endpoint, ends the IdP session too.
func (h *Handler) serveLogout(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return nil
	}
	h.clearSession(w, r)
	w.Header().Set("Cache-Control", "no-store")
	target := h.PostLogoutRedirect
	if h.IdPLogout {
		if d, err := h.idp.get(r.Context()); err == nil && d.endSessionURL != "" {
			q := url.Values{
				"client_id":                {h.Provider.ClientID},
				"post_logout_redirect_uri": {h.origin(r) + h.PostLogoutRedirect},
			}
			target = d.endSessionURL + "?" + q.Encode()
		} else if err != nil {
			h.logger.Warn("logout: identity provider unavailable; local session cleared only", zap.Error(err))
		}
	}
	h.logger.Info("logout", logRequest(r))
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}
