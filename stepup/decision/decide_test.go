package decision

import (
	"testing"
	"time"
)

func TestDecideJudgesDenyThenTheRuleThenTheRiskStepUp(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	zero, hour := time.Duration(0), time.Hour
	p := New(Config{
		Levels: []string{"pwd", "otp"},
		Rules: []RuleSpec{
			{Name: "admin", ACR: []string{"otp"}},
			{Name: "wire", MaxAge: &zero},
			{Name: "strict", RiskStepUp: 10, RiskDeny: 20},
		},
		Risk: &RiskSpec{ACR: []string{"otp"}, MaxAge: &zero, StepUp: 50, Deny: 80},
	})
	admin, _ := p.Login("admin")
	wire, _ := p.Login("wire")
	strict, _ := p.Login("strict")
	pwd := &Claims{Subject: "alice", ACR: "pwd", AuthTime: now.Add(-hour), Issued: now.Add(-hour), Expires: now.Add(hour)}
	otp := &Claims{Subject: "alice", ACR: "otp", AuthTime: now.Add(-hour), Issued: now.Add(-hour), Expires: now.Add(hour)}
	freshRisk := &Claims{Subject: "alice", ACR: "otp", AuthTime: now, Issued: now, Expires: now.Add(hour), LoginRule: RiskName}
	freshWire := &Claims{Subject: "alice", ACR: "pwd", AuthTime: now, Issued: now, Expires: now.Add(hour), LoginRule: "wire"}
	scored := func(n int) Verdict { return Verdict{Scored: true, Score: n} }
	for _, tc := range []struct {
		name    string
		req     *Requirement
		bearer  bool
		c       *Claims
		v       Verdict
		outcome Outcome
		want    *Requirement // Requirement of the decision
		reason  string
		forRisk bool
		fresh   *Requirement
	}{
		{"nothing asked, low score: pass without identity", nil, false, nil, scored(10), Pass, nil, "", false, nil},
		{"no session on a rule: challenge for the rule", admin, false, nil, Verdict{}, Challenge, admin, ReasonNoSession, false, nil},
		{"weak login on a rule: challenge for acr", admin, false, pwd, Verdict{}, Challenge, admin, ReasonACR, false, nil},
		{"strong login: pass the rule", admin, false, otp, Verdict{}, Pass, admin, "", false, nil},
		{"above deny: deny, whatever the session", admin, false, otp, scored(90), Deny, admin, "", false, nil},
		{"above step-up without a rule: challenge for the risk requirement", nil, false, otp, scored(60), Challenge, p.Risk(), ReasonMaxAge, true, nil},
		{"above step-up, rule falls short first: the rule's challenge", admin, false, pwd, scored(60), Challenge, admin, ReasonACR, false, nil},
		{"a rule's own thresholds: deny at 21", strict, false, otp, scored(21), Deny, strict, "", false, nil},
		{"a rule's own thresholds: step up at 11", strict, false, otp, scored(11), Challenge, p.Risk(), ReasonMaxAge, true, nil},
		{"fresh risk login answers the risky request: pass, spending the risk pass", nil, false, freshRisk, scored(60), Pass, p.Risk(), "", true, p.Risk()},
		{"fresh risk login, request no longer risky: still spends the risk pass", nil, false, freshRisk, scored(10), Pass, nil, "", false, p.Risk()},
		{"fresh risk login on a rule's path: the risk pass is spent", admin, false, freshRisk, scored(60), Pass, admin, "", false, p.Risk()},
		{"max_age 0 rule right after its login: pass, spending the rule's pass", wire, false, freshWire, Verdict{}, Pass, wire, "", false, wire},
		{"a bearer token spends no pass", nil, true, freshRisk, scored(60), Pass, p.Risk(), "", true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := p.Decide(Facts{Now: now, Requirement: tc.req, Bearer: tc.bearer}, tc.c, tc.v)
			if d.Outcome != tc.outcome || d.Requirement != tc.want || d.Reason != tc.reason || d.ForRisk != tc.forRisk || d.FreshPass != tc.fresh || d.Matched != tc.req {
				t.Fatalf("Decide = %+v", d)
			}
		})
	}
}

func TestABearerTokenThatDidNotVerifyIsChallengedWhateverTheScore(t *testing.T) {
	p := New(Config{Rules: []RuleSpec{{Name: "api"}}, Risk: &RiskSpec{StepUp: 50, Deny: 80}})
	api, _ := p.Login("api")
	d := p.Decide(Facts{Now: time.Unix(1_800_000_000, 0), Requirement: api, Bearer: true, InvalidToken: true}, nil, Verdict{Scored: true, Score: 95})
	if d.Outcome != Challenge || d.Requirement != api || d.Reason != ReasonInvalidToken || d.ForRisk || d.WouldDeny {
		t.Fatalf("Decide = %+v", d)
	}
}

func TestAReportOnlyRiskBlockRecordsTheDenialAndDecidesOn(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	p := New(Config{Risk: &RiskSpec{ACR: []string{"otp"}, ReportOnly: true, StepUp: 50, Deny: 80}})
	d := p.Decide(Facts{Now: now}, nil, Verdict{Scored: true, Score: 90})
	if !d.WouldDeny || d.Outcome != Challenge || d.Requirement != p.Risk() || !d.Requirement.ReportOnly {
		t.Fatalf("Decide = %+v", d)
	}
}

func TestRequireLoginAllMatchesTheBaseLoginAndLoginLinksFindRulesByName(t *testing.T) {
	p := New(Config{RequireAll: true, Rules: []RuleSpec{{Name: "admin", ACR: []string{"otp"}}}, ReportOnly: true})
	base, ok := p.Login("")
	if !ok || base.Name != DefaultName || !base.ReportOnly {
		t.Fatalf("Login(\"\") = %+v, %v", base, ok)
	}
	if admin, ok := p.Login("admin"); !ok || admin.ACRValues != "otp" || !admin.ReportOnly {
		t.Fatalf("Login(admin) = %+v, %v", admin, ok)
	}
	if _, ok := p.Login("nope"); ok {
		t.Fatal("an unknown rule name was found")
	}
	if p.Risk() != nil {
		t.Fatal("a risk requirement without a risk block")
	}
}

func TestALoginLinkForTheRiskStepUpFindsTheRiskRequirement(t *testing.T) {
	p := New(Config{Risk: &RiskSpec{ACR: []string{"otp"}, StepUp: 50, Deny: 80}})
	if req, ok := p.Login(RiskName); !ok || req != p.Risk() {
		t.Fatalf("Login(%q) = %+v, %v; want the risk requirement", RiskName, req, ok)
	}
	if _, ok := New(Config{}).Login(RiskName); ok {
		t.Fatal("a risk requirement found without a risk block")
	}
}
