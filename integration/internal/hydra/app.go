package hydra

import (
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// The login & consent app is the IdP's user interface as Hydra sees it:
// Hydra redirects the browser here with a challenge, the app asks the admin
// API about it, accepts or rejects it, and redirects back to Hydra. By
// default no human is involved: the test's OnLogin function decides. In
// interactive mode the login is a page to click through (interactive.go).

// hydraLoginRequest is the admin API's OAuth2LoginRequest (fields we use).
type hydraLoginRequest struct {
	Challenge         string   `json:"challenge"`
	Skip              bool     `json:"skip"`
	Subject           string   `json:"subject"`
	SessionID         string   `json:"session_id"`
	RequestURL        string   `json:"request_url"`
	RequestedScope    []string `json:"requested_scope"`
	RequestedAudience []string `json:"requested_access_token_audience"`
	Client            struct {
		ID string `json:"client_id"`
	} `json:"client"`
	OIDCContext struct {
		ACRValues         []string       `json:"acr_values"`
		LoginHint         string         `json:"login_hint"`
		UILocales         []string       `json:"ui_locales"`
		IDTokenHintClaims map[string]any `json:"id_token_hint_claims"`
	} `json:"oidc_context"`
}

// hydraConsentRequest is the admin API's OAuth2ConsentRequest (fields we use).
type hydraConsentRequest struct {
	RequestedScope    []string `json:"requested_scope"`
	RequestedAudience []string `json:"requested_access_token_audience"`
	LoginSessionID    string   `json:"login_session_id"`
	ACR               string   `json:"acr"`
	AMR               []string `json:"amr"`
}

// redirectTo is the admin API's answer to accept/reject calls.
type redirectTo struct {
	RedirectTo string `json:"redirect_to"`
}

func (s *Server) appHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", s.handleLogin)
	mux.HandleFunc("POST /login", s.handleLoginForm)
	mux.HandleFunc("GET /consent", s.handleConsent)
	mux.HandleFunc("GET /logout", s.handleLogout)
	return mux
}

// appError reports a harness failure both to the test and to the browser.
func (s *Server) appError(w http.ResponseWriter, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.t.Errorf("hydra login/consent app: %s", msg)
	http.Error(w, msg, http.StatusInternalServerError)
}

// handleLogin records the login request and decides it: the test's OnLogin
// function does, unless the app is interactive, in which case the user does
// on the sign-in page (see interactive.go).
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	req, err := s.loginRequest(r.URL.Query().Get("login_challenge"))
	if err != nil {
		s.appError(w, "%v", err)
		return
	}
	s.mu.Lock()
	s.logins = append(s.logins, req)
	decide, interactive := s.onLogin, s.interactive
	s.mu.Unlock()
	if decide == nil {
		decide = DefaultLogin
	}
	d := decide(req)
	if interactive && !req.Skip {
		s.renderLoginPage(w, req, d)
		return
	}
	s.completeLogin(w, r, req, d)
}

// loginRequest asks the admin API about a login challenge.
func (s *Server) loginRequest(challenge string) (LoginRequest, error) {
	var hlr hydraLoginRequest
	if err := s.adminJSON(http.MethodGet, "/admin/oauth2/auth/requests/login"+loginQuery(challenge), nil, &hlr); err != nil {
		return LoginRequest{}, err
	}
	req := newLoginRequest(challenge, hlr)
	s.mu.Lock()
	if prev, ok := s.sessions[req.SessionID]; ok && req.Skip {
		req.Previous = &prev
	}
	s.mu.Unlock()
	return req, nil
}

func loginQuery(challenge string) string { return "?login_challenge=" + url.QueryEscape(challenge) }

// completeLogin carries out the decision on req through the admin API,
// remembers the authentication for the consent step and sends the browser
// back to Hydra. Both the automatic and the interactive login end here.
func (s *Server) completeLogin(w http.ResponseWriter, r *http.Request, req LoginRequest, d LoginDecision) {
	q := loginQuery(req.Challenge)
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther // the browser follows with a GET
	}
	var out redirectTo
	if d.Reject != "" {
		body := map[string]any{"error": d.Reject, "error_description": d.RejectDescription}
		if err := s.adminJSON(http.MethodPut, "/admin/oauth2/auth/requests/login/reject"+q, body, &out); err != nil {
			s.appError(w, "%v", err)
			return
		}
		http.Redirect(w, r, out.RedirectTo, status)
		return
	}
	if d.Subject == "" {
		d.Subject = DefaultSubject
		if req.Skip {
			d.Subject = req.Subject
		}
	}
	body := map[string]any{
		"subject":      d.Subject,
		"acr":          d.ACR,
		"amr":          nonNil(d.AMR),
		"remember":     d.Remember,
		"remember_for": d.RememberFor,
	}
	authTime, err := s.acceptLogin(q, body, &out)
	if err != nil {
		s.appError(w, "%v", err)
		return
	}
	s.mu.Lock()
	a := Authentication{Subject: d.Subject, ACR: d.ACR, AMR: d.AMR, AuthTime: authTime}
	if prev, ok := s.sessions[req.SessionID]; ok && req.Skip {
		a.AuthTime = prev.AuthTime // Hydra keeps the session's auth time
	}
	s.sessions[req.SessionID] = a
	s.mu.Unlock()
	http.Redirect(w, r, out.RedirectTo, status)
}

// acceptLogin accepts a login request and returns the auth_time Hydra
// recorded. Hydra stamps time.Now() truncated to the second and does not
// reveal it to the consent app, so the harness brackets the call with the
// same clock; if a second boundary falls inside it, it accepts again (Hydra
// allows that until the login verifier is used) to learn the exact value.
func (s *Server) acceptLogin(q string, body map[string]any, out *redirectTo) (time.Time, error) {
	for range 5 {
		if ns := time.Now().Nanosecond(); ns > 900_000_000 {
			time.Sleep(time.Duration(1_000_000_000-ns) + time.Millisecond)
		}
		before := time.Now().Truncate(time.Second)
		if err := s.adminJSON(http.MethodPut, "/admin/oauth2/auth/requests/login/accept"+q, body, out); err != nil {
			return time.Time{}, err
		}
		if after := time.Now().Truncate(time.Second); after.Equal(before) {
			return before, nil
		}
	}
	return time.Time{}, fmt.Errorf("could not pin down auth_time: login accept kept straddling a second boundary")
}

func newLoginRequest(challenge string, h hydraLoginRequest) LoginRequest {
	req := LoginRequest{
		Challenge:         challenge,
		Skip:              h.Skip,
		Subject:           h.Subject,
		SessionID:         h.SessionID,
		ClientID:          h.Client.ID,
		RequestedScope:    h.RequestedScope,
		RequestedAudience: h.RequestedAudience,
		ACRValues:         h.OIDCContext.ACRValues,
		LoginHint:         h.OIDCContext.LoginHint,
		UILocales:         h.OIDCContext.UILocales,
		IDTokenHintClaims: h.OIDCContext.IDTokenHintClaims,
		RequestURL:        h.RequestURL,
		Query:             url.Values{},
	}
	if u, err := url.Parse(h.RequestURL); err == nil {
		req.Query = u.Query()
	}
	req.MaxAge = req.Query.Get("max_age")
	req.Prompt = req.Query.Get("prompt")
	req.Claims = req.Query.Get("claims")
	return req
}

// handleConsent always grants what was requested and copies the login's
// acr, amr and auth_time into the access token; Hydra lifts them to
// top-level JWT claims because of oauth2.allowed_top_level_claims.
func (s *Server) handleConsent(w http.ResponseWriter, r *http.Request) {
	q := "?consent_challenge=" + url.QueryEscape(r.URL.Query().Get("consent_challenge"))
	var cr hydraConsentRequest
	if err := s.adminJSON(http.MethodGet, "/admin/oauth2/auth/requests/consent"+q, nil, &cr); err != nil {
		s.appError(w, "%v", err)
		return
	}
	claims := map[string]any{}
	if cr.ACR != "" {
		claims["acr"] = cr.ACR
	}
	if len(cr.AMR) > 0 {
		claims["amr"] = cr.AMR
	}
	s.mu.Lock()
	a, ok := s.sessions[cr.LoginSessionID]
	s.mu.Unlock()
	if ok {
		claims["auth_time"] = a.AuthTime.Unix()
	} else {
		s.t.Logf("hydra consent: unknown login session %q, access token gets no auth_time", cr.LoginSessionID)
	}
	body := map[string]any{
		"grant_scope":                 nonNil(cr.RequestedScope),
		"grant_access_token_audience": nonNil(cr.RequestedAudience),
		"remember":                    false,
		"session":                     map[string]any{"access_token": claims},
	}
	var out redirectTo
	if err := s.adminJSON(http.MethodPut, "/admin/oauth2/auth/requests/consent/accept"+q, body, &out); err != nil {
		s.appError(w, "%v", err)
		return
	}
	http.Redirect(w, r, out.RedirectTo, http.StatusFound)
}

// handleLogout accepts every logout request (RP-initiated logout), which
// ends the Hydra login session.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	q := "?logout_challenge=" + url.QueryEscape(r.URL.Query().Get("logout_challenge"))
	var out redirectTo
	if err := s.adminJSON(http.MethodPut, "/admin/oauth2/auth/requests/logout/accept"+q, nil, &out); err != nil {
		s.appError(w, "%v", err)
		return
	}
	http.Redirect(w, r, out.RedirectTo, http.StatusFound)
}
