package idp

import (
	"testing"
	"time"
)

func TestNextStep(t *testing.T) {
	now := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	pwdSession := &ssoSession{User: "alice", AuthTime: now.Add(-time.Minute), AMR: []string{"pwd"}}
	mfaSession := &ssoSession{User: "alice", AuthTime: now.Add(-time.Minute), AMR: []string{"pwd", "otp"}}
	maxAge := func(d time.Duration) demand { return demand{hasMaxAge: true, maxAge: d} }
	tests := []struct {
		name string
		d    demand
		p    progress
		s    *ssoSession
		want step
	}{
		{"no session asks for the password", demand{}, progress{}, nil, stepPassword},
		{"a session answers a plain request without a page", demand{}, progress{}, pwdSession, stepDone},
		{"mfa asked of a password session asks only for the code", demand{mfa: true}, progress{}, pwdSession, stepOTP},
		{"mfa asked of an mfa session needs nothing", demand{mfa: true}, progress{}, mfaSession, stepDone},
		{"mfa without a session asks for the password first", demand{mfa: true}, progress{}, nil, stepPassword},
		{"mfa after the password just typed asks for the code", demand{mfa: true}, progress{password: true}, pwdSession, stepOTP},
		{"mfa once both were typed is done", demand{mfa: true}, progress{password: true, otp: true}, mfaSession, stepDone},
		{"max_age not yet passed reuses the session", maxAge(2 * time.Minute), progress{}, pwdSession, stepDone},
		{"max_age passed asks for the password", maxAge(30 * time.Second), progress{}, pwdSession, stepPassword},
		{"max_age passed on an mfa session asks for the password", maxAge(30 * time.Second), progress{}, mfaSession, stepPassword},
		{"max_age 0 (prompt=login) asks for the password", maxAge(0), progress{}, mfaSession, stepPassword},
		{"max_age 0 is satisfied by the password typed in this request", maxAge(0), progress{password: true}, pwdSession, stepDone},
		{"re-authentication with mfa needs a fresh code too", demand{mfa: true, hasMaxAge: true}, progress{password: true}, mfaSession, stepOTP},
		{"login_hint for another user asks for the password", demand{loginHint: "bob"}, progress{}, pwdSession, stepPassword},
		{"login_hint for the session's user reuses it", demand{loginHint: "alice"}, progress{}, pwdSession, stepDone},
		{"a lost cookie after the password asks for it again", demand{}, progress{password: true}, nil, stepPassword},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := nextStep(tt.d, tt.p, tt.s, now); got != tt.want {
				t.Errorf("nextStep = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestWantsMFA(t *testing.T) {
	tests := []struct {
		acrValues []string
		want      bool
	}{
		{nil, false},
		{[]string{ACRPassword}, false},
		{[]string{ACRMFA}, true},
		{[]string{ACRMFA, ACRPassword}, false}, // mfa preferred, password acceptable
		{[]string{"urn:other:level"}, false},
	}
	for _, tt := range tests {
		if got := wantsMFA(tt.acrValues); got != tt.want {
			t.Errorf("wantsMFA(%q) = %v, want %v", tt.acrValues, got, tt.want)
		}
	}
}

func TestACRFollowsTheMethodsUsed(t *testing.T) {
	if got := acrFor([]string{"pwd"}); got != ACRPassword {
		t.Errorf("acr for pwd = %s", got)
	}
	if got := acrFor([]string{"pwd", "otp"}); got != ACRMFA {
		t.Errorf("acr for pwd+otp = %s", got)
	}
}
