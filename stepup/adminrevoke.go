package stepup

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-stepup/caddy-stepup/stepup/session"
	"github.com/caddy-stepup/caddy-stepup/stepup/state"
)

func init() {
	caddy.RegisterModule(adminRevoke{})
}

// adminRevoke adds `POST /stepup/revoke` to Caddy's admin API: it ends a
// subject's sessions (or one IdP session by sid) at an issuer, issued up to
// now, on every replica sharing the state store, for example when an
// account is disabled at an IdP that sends no back-channel logout:
//
//	curl -X POST localhost:2019/stepup/revoke -H 'Content-Type: application/json' \
//	     -d '{"issuer":"https://idp.example.com","sub":"248289761001"}'
type adminRevoke struct{}

// CaddyModule returns the Caddy module information.
func (adminRevoke) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.stepup_revoke",
		New: func() caddy.Module { return new(adminRevoke) },
	}
}

// Routes implements caddy.AdminRouter.
func (adminRevoke) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: "/stepup/revoke", Handler: caddy.AdminHandlerFunc(serveAdminRevoke)}}
}

// revokeRequest is the admin route's body.
type revokeRequest struct {
	Issuer  string `json:"issuer"`
	Subject string `json:"sub"`
	SID     string `json:"sid"`
}

func serveAdminRevoke(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("method %s not allowed; use POST", r.Method)}
	}
	var req revokeRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: fmt.Errorf("decoding request: %w", err)}
	}
	if req.Issuer == "" || (req.Subject == "" && req.SID == "") || len(req.Subject) > session.MaxClaimLen || len(req.SID) > session.MaxClaimLen {
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: fmt.Errorf("issuer and sub or sid are required")}
	}
	rv := state.Revocation{Issuer: req.Issuer, Subject: req.Subject, SID: req.SID, Before: time.Now().Unix()}
	stores, failed := 0, 0
	state.Each(func(s *state.Store) {
		stores++
		if err := s.Revoke(r.Context(), rv); err != nil {
			failed++
		}
	})
	if stores == 0 {
		return caddy.APIError{HTTPStatus: http.StatusConflict, Err: fmt.Errorf("no stepup handler is running")}
	}
	if failed > 0 {
		return caddy.APIError{HTTPStatus: http.StatusServiceUnavailable, Err: fmt.Errorf("revocation not recorded in %d of %d state stores", failed, stores)}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Interface guards
var _ caddy.AdminRouter = (*adminRevoke)(nil)
