package hydra

import (
	"net/http"
	"net/url"
	"testing"
)

// LoginSessionIDs returns the ids (the sid of ID tokens) of the login
// sessions the login app has accepted for subject.
func (s *Server) LoginSessionIDs(subject string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id, a := range s.sessions {
		if a.Subject == subject {
			ids = append(ids, id)
		}
	}
	return ids
}

// RevokeLoginSession ends the login session sid at Hydra, which sends an
// OpenID back-channel logout token to every client with a
// backchannel_logout_uri that the session logged in to.
func (s *Server) RevokeLoginSession(t testing.TB, sid string) {
	t.Helper()
	if err := s.adminJSON(http.MethodDelete, "/admin/oauth2/auth/sessions/login?sid="+url.QueryEscape(sid), nil, nil); err != nil {
		t.Fatalf("hydra: revoke login session: %v", err)
	}
}
