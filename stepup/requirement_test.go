package stepup

import (
	"testing"
	"time"
)

func TestRequirementCheck(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	lv := newLevels([]string{"urn:pwd", "urn:otp", "urn:webauthn"})
	dur := func(d time.Duration) *time.Duration { return &d }
	sess := func(acr string, amr []string, authAgo time.Duration) *session {
		return &session{Subject: "alice", ACR: acr, AMR: amr, AuthTime: now.Add(-authAgo), Issued: now.Add(-authAgo), Expires: now.Add(time.Hour)}
	}
	cases := []struct {
		name string
		req  *requirement
		s    *session
		want string
	}{
		{"no session", newRequirement("r", nil, nil, nil, lv), nil, reasonNoSession},
		{"expired session", newRequirement("r", nil, nil, nil, lv), &session{Subject: "a", Expires: now.Add(-time.Second)}, reasonNoSession},
		{"any acr passes a rule without acr", newRequirement("r", nil, nil, nil, lv), sess("whatever", nil, 0), ""},
		{"exact acr passes", newRequirement("r", []string{"urn:otp"}, nil, nil, lv), sess("urn:otp", nil, 0), ""},
		{"stronger ranked acr passes", newRequirement("r", []string{"urn:otp"}, nil, nil, lv), sess("urn:webauthn", nil, 0), ""},
		{"weaker ranked acr fails", newRequirement("r", []string{"urn:otp"}, nil, nil, lv), sess("urn:pwd", nil, 0), reasonACR},
		{"unranked acr fails a ranked rule", newRequirement("r", []string{"urn:otp"}, nil, nil, lv), sess("urn:other", nil, 0), reasonACR},
		{"absent acr fails", newRequirement("r", []string{"urn:otp"}, nil, nil, lv), sess("", nil, 0), reasonACR},
		{"unranked exact acr passes", newRequirement("r", []string{"urn:custom"}, nil, nil, lv), sess("urn:custom", nil, 0), ""},
		{"stronger acr does not pass an unranked rule", newRequirement("r", []string{"urn:custom"}, nil, nil, lv), sess("urn:webauthn", nil, 0), reasonACR},
		{"required amr present", newRequirement("r", nil, []string{"otp"}, nil, lv), sess("a", []string{"pwd", "otp"}, 0), ""},
		{"required amr missing", newRequirement("r", nil, []string{"otp"}, nil, lv), sess("a", []string{"pwd"}, 0), reasonAMR},
		{"recent enough", newRequirement("r", nil, nil, dur(5*time.Minute), lv), sess("a", nil, 4*time.Minute), ""},
		{"too old", newRequirement("r", nil, nil, dur(5*time.Minute), lv), sess("a", nil, 6*time.Minute), reasonMaxAge},
		{"unknown auth_time with max_age", newRequirement("r", nil, nil, dur(time.Hour), lv), &session{Subject: "a", Expires: now.Add(time.Hour)}, reasonMaxAge},
		{"max_age 0 without a fresh login", newRequirement("r", nil, nil, dur(0), lv), sess("a", nil, time.Second), reasonMaxAge},
		{"max_age 0 right after its login", newRequirement("r", nil, nil, dur(0), lv), &session{Subject: "a", Issued: now.Add(-time.Second), Expires: now.Add(time.Hour), LoginRule: "r"}, ""},
		{"max_age 0 after the pass was spent", newRequirement("r", nil, nil, dur(0), lv), &session{Subject: "a", Issued: now.Add(-time.Second), Expires: now.Add(time.Hour), LoginRule: "r", FreshSpent: true}, reasonMaxAge},
		{"max_age 0 login made for another rule", newRequirement("r", nil, nil, dur(0), lv), &session{Subject: "a", Issued: now.Add(-time.Second), Expires: now.Add(time.Hour), LoginRule: "other"}, reasonMaxAge},
		{"max_age 0 login too long ago", newRequirement("r", nil, nil, dur(0), lv), &session{Subject: "a", Issued: now.Add(-2 * freshPassWindow), Expires: now.Add(time.Hour), LoginRule: "r"}, reasonMaxAge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.req.check(tc.s, now, lv); got != tc.want {
				t.Fatalf("check = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPromptLoginIsSentWhenTheSessionFallsShortOrTheRuleWantsAFreshLogin(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	lv := newLevels([]string{"urn:pwd", "urn:otp"})
	zero, five := time.Duration(0), 5*time.Minute
	mfa := newRequirement("admin", []string{"urn:otp"}, nil, nil, lv)
	otp := newRequirement("otp", nil, []string{"otp"}, nil, lv)
	fresh := newRequirement("wire", nil, nil, &zero, lv)
	recent := newRequirement("transfer", nil, nil, &five, lv)
	pwd := &session{Subject: "alice", ACR: "urn:pwd", AMR: []string{"pwd"}, Expires: now.Add(time.Hour)}
	strong := &session{Subject: "alice", ACR: "urn:otp", AMR: []string{"pwd", "otp"}, Expires: now.Add(time.Hour)}
	for _, tc := range []struct {
		name, mode string
		req        *requirement
		s          *session
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
			h := &Handler{Provider: ProviderConfig{StepUpPrompt: tc.mode}, levels: lv}
			if got := h.needsReauth(tc.req, tc.s, now); got != tc.want {
				t.Errorf("needsReauth = %v, want %v", got, tc.want)
			}
		})
	}
}
