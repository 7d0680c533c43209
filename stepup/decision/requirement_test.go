package decision

import (
	"testing"
	"time"
)

func TestRequirementCheck(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	lv := NewLevels([]string{"urn:pwd", "urn:otp", "urn:webauthn"})
	dur := func(d time.Duration) *time.Duration { return &d }
	sess := func(acr string, amr []string, authAgo time.Duration) *Claims {
		return &Claims{Subject: "alice", ACR: acr, AMR: amr, AuthTime: now.Add(-authAgo), Issued: now.Add(-authAgo), Expires: now.Add(time.Hour)}
	}
	cases := []struct {
		name string
		req  *Requirement
		s    *Claims
		want string
	}{
		{"no session", NewRequirement("r", nil, nil, nil, lv), nil, ReasonNoSession},
		{"expired session", NewRequirement("r", nil, nil, nil, lv), &Claims{Subject: "a", Expires: now.Add(-time.Second)}, ReasonNoSession},
		{"any acr passes a rule without acr", NewRequirement("r", nil, nil, nil, lv), sess("whatever", nil, 0), ""},
		{"exact acr passes", NewRequirement("r", []string{"urn:otp"}, nil, nil, lv), sess("urn:otp", nil, 0), ""},
		{"stronger ranked acr passes", NewRequirement("r", []string{"urn:otp"}, nil, nil, lv), sess("urn:webauthn", nil, 0), ""},
		{"weaker ranked acr fails", NewRequirement("r", []string{"urn:otp"}, nil, nil, lv), sess("urn:pwd", nil, 0), ReasonACR},
		{"unranked acr fails a ranked rule", NewRequirement("r", []string{"urn:otp"}, nil, nil, lv), sess("urn:other", nil, 0), ReasonACR},
		{"absent acr fails", NewRequirement("r", []string{"urn:otp"}, nil, nil, lv), sess("", nil, 0), ReasonACR},
		{"unranked exact acr passes", NewRequirement("r", []string{"urn:custom"}, nil, nil, lv), sess("urn:custom", nil, 0), ""},
		{"stronger acr does not pass an unranked rule", NewRequirement("r", []string{"urn:custom"}, nil, nil, lv), sess("urn:webauthn", nil, 0), ReasonACR},
		{"required amr present", NewRequirement("r", nil, []string{"otp"}, nil, lv), sess("a", []string{"pwd", "otp"}, 0), ""},
		{"required amr missing", NewRequirement("r", nil, []string{"otp"}, nil, lv), sess("a", []string{"pwd"}, 0), ReasonAMR},
		{"recent enough", NewRequirement("r", nil, nil, dur(5*time.Minute), lv), sess("a", nil, 4*time.Minute), ""},
		{"too old", NewRequirement("r", nil, nil, dur(5*time.Minute), lv), sess("a", nil, 6*time.Minute), ReasonMaxAge},
		{"unknown auth_time with max_age", NewRequirement("r", nil, nil, dur(time.Hour), lv), &Claims{Subject: "a", Expires: now.Add(time.Hour)}, ReasonMaxAge},
		{"max_age 0 without a fresh login", NewRequirement("r", nil, nil, dur(0), lv), sess("a", nil, time.Second), ReasonMaxAge},
		{"max_age 0 right after its login", NewRequirement("r", nil, nil, dur(0), lv), &Claims{Subject: "a", Issued: now.Add(-time.Second), Expires: now.Add(time.Hour), LoginRule: "r"}, ""},
		{"max_age 0 after the pass was spent", NewRequirement("r", nil, nil, dur(0), lv), &Claims{Subject: "a", Issued: now.Add(-time.Second), Expires: now.Add(time.Hour), LoginRule: "r", FreshSpent: true}, ReasonMaxAge},
		{"max_age 0 login made for another rule", NewRequirement("r", nil, nil, dur(0), lv), &Claims{Subject: "a", Issued: now.Add(-time.Second), Expires: now.Add(time.Hour), LoginRule: "other"}, ReasonMaxAge},
		{"max_age 0 login too long ago", NewRequirement("r", nil, nil, dur(0), lv), &Claims{Subject: "a", Issued: now.Add(-2 * FreshPassWindow), Expires: now.Add(time.Hour), LoginRule: "r"}, ReasonMaxAge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.req.Check(tc.s, now); got != tc.want {
				t.Fatalf("Check = %q, want %q", got, tc.want)
			}
		})
	}
}
