package stepup

import (
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

func TestPromptLoginIsSentWhenTheSessionFallsShortOrTheRuleWantsAFreshLogin(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	lv := decision.NewLevels([]string{"urn:pwd", "urn:otp"})
	zero, five := time.Duration(0), 5*time.Minute
	mfa := decision.NewRequirement("admin", []string{"urn:otp"}, nil, nil, lv)
	otp := decision.NewRequirement("otp", nil, []string{"otp"}, nil, lv)
	fresh := decision.NewRequirement("wire", nil, nil, &zero, lv)
	recent := decision.NewRequirement("transfer", nil, nil, &five, lv)
	pwd := &session.Session{Subject: "alice", ACR: "urn:pwd", AMR: []string{"pwd"}, Expires: now.Add(time.Hour)}
	strong := &session.Session{Subject: "alice", ACR: "urn:otp", AMR: []string{"pwd", "otp"}, Expires: now.Add(time.Hour)}
	for _, tc := range []struct {
		name, mode string
		req        *decision.Requirement
		s          *session.Session
		want       bool
	}{
		{"acr falls short", "", mfa, pwd, true},
		{"amr falls short", "login", otp, pwd, true},
		{"acr falls short, retry mode", "retry", mfa, pwd, false},
		{"no session here", "", mfa, nil, false},
		{"the session is strong enough (recency elsewhere)", "", mfa, strong, false},
		{"max_age 0", "", fresh, strong, true},
		{"max_age 0, retry mode", "retry", fresh, nil, true},
		{"recency only", "", recent, pwd, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &Handler{Provider: ProviderConfig{StepUpPrompt: tc.mode}}
			if got := h.needsReauth(tc.req, tc.s, now); got != tc.want {
				t.Errorf("needsReauth = %v, want %v", got, tc.want)
			}
		})
	}
}
