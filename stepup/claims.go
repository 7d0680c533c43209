package stepup

import (
	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// claimsOf is what the decision reads of a session; a nil session has none.
func claimsOf(s *session.Session) decision.Claims {
	if s == nil {
		return decision.Claims{}
	}
	return decision.Claims{Subject: s.Subject, ACR: s.ACR, AMR: s.AMR, AuthTime: s.AuthTime, Issued: s.Issued,
		Expires: s.Expires, LoginRule: s.LoginRule, FreshSpent: s.FreshSpent}
}

func subjectOf(s *session.Session) string {
	if s == nil {
		return ""
	}
	return s.Subject
}
