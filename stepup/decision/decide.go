package decision

import "time"

// Facts are what the handler learned about a request before deciding.
type Facts struct {
	Now         time.Time
	Requirement *Requirement // Match's answer; nil when nothing is asked of the request
	Bearer      bool         // the claims come from a bearer token, not the session cookie
	// InvalidToken: a bearer token that did not verify, on a path a rule
	// covers. It is challenged before anything else is looked at.
	InvalidToken bool
}

// Verdict is the risk engine's score for the request. Scored is false
// without a risk block.
type Verdict struct {
	Scored bool
	Score  int
}

// Outcome is what the handler does with a request.
type Outcome uint8

const (
	Pass      Outcome = iota // let it through (with the claims' identity when Requirement is set)
	Challenge                // ask for a login that meets Requirement
	Deny                     // refuse it: the risk score is above the deny threshold
)

// Decision is Decide's answer, a plain value the handler acts on.
type Decision struct {
	Outcome Outcome

	// Matched is what Match returned for the request (nil: nothing).
	Matched *Requirement

	// Requirement is, for Pass, the one the request was judged by (nil when
	// nothing was asked); for Challenge, the one to meet; for Deny, Matched.
	Requirement *Requirement

	// ForRisk: Requirement is the risk step-up's, which the request needs
	// because it scored above the step-up threshold.
	ForRisk bool

	// Reason is why a Challenge falls short (a Reason* value).
	Reason string

	// WouldDeny: the score is above the deny threshold but the risk block
	// is report-only, so the denial is only recorded.
	WouldDeny bool

	// FreshPass, on a Pass, is the requirement whose single-use max_age 0
	// pass this request uses. The handler records the use; when the pass
	// was already used it challenges for FreshPass with ReasonMaxAge.
	FreshPass *Requirement
}

// Spent is the decision once its FreshPass turns out to be used already:
// a challenge for FreshPass with ReasonMaxAge.
func (d Decision) Spent() Decision {
	return Decision{Outcome: Challenge, Matched: d.Matched, Requirement: d.FreshPass, Reason: ReasonMaxAge}
}

// Decide judges a request: a bearer token that did not verify first, then
// the risk deny threshold, then the matched requirement, then, above the
// step-up threshold, the risk requirement; a request that meets all of
// them passes, spending a max_age 0 pass when it rests on one. c may be
// nil (no session).
func (p *Policy) Decide(f Facts, c *Claims, v Verdict) Decision {
	req := f.Requirement
	if f.InvalidToken && req != nil {
		return Decision{Outcome: Challenge, Matched: req, Requirement: req, Reason: ReasonInvalidToken}
	}
	stepUp, deny := p.thresholds(req, v)
	d := Decision{Matched: req}
	if deny {
		if !p.risk.ReportOnly {
			return Decision{Outcome: Deny, Matched: req, Requirement: req}
		}
		d.WouldDeny = true
	}
	if req != nil {
		if reason := req.Check(c, f.Now); reason != "" {
			d.Outcome, d.Requirement, d.Reason = Challenge, req, reason
			return d
		}
	}
	if stepUp {
		if reason := p.risk.Check(c, f.Now); reason != "" {
			d.Outcome, d.Requirement, d.ForRisk, d.Reason = Challenge, p.risk, true, reason
			return d
		}
	}
	d.Outcome, d.Requirement = Pass, req
	if req == nil && stepUp {
		d.Requirement, d.ForRisk = p.risk, true
	}
	if !f.Bearer {
		d.FreshPass = p.freshPass(req, stepUp || p.riskPassUnspent(c, f.Now))
	}
	return d
}

// thresholds compares the score with the risk block's thresholds, or the
// matched rule's own where it sets them.
func (p *Policy) thresholds(req *Requirement, v Verdict) (stepUp, deny bool) {
	if !v.Scored || p.risk == nil {
		return false, false
	}
	stepUpAt, denyAt := p.stepUp, p.deny
	if req != nil && req.RiskStepUp > 0 {
		stepUpAt = req.RiskStepUp
	}
	if req != nil && req.RiskDeny > 0 {
		denyAt = req.RiskDeny
	}
	return v.Score > stepUpAt, v.Score > denyAt
}

// freshPass returns the requirement whose max_age 0 pass a passing request
// uses: the matched one's, or the risk requirement's when a risk step-up
// applied to the request (on a path a rule covers too).
func (p *Policy) freshPass(req *Requirement, riskApplied bool) *Requirement {
	if req != nil && req.SpendsFreshPass() {
		return req
	}
	if riskApplied && p.risk != nil && p.risk.SpendsFreshPass() {
		return p.risk
	}
	return nil
}

// riskPassUnspent reports whether c still holds the pass of a max_age 0
// risk login. That login answered a risky request, which its redirect
// brings straight back: the first request the session makes spends it,
// risky or not. Otherwise a pass left unspent (the new login recorded the
// new place, so the request it was for no longer scored high) would let
// the next risky request in for a minute without a login.
func (p *Policy) riskPassUnspent(c *Claims, now time.Time) bool {
	return p.risk != nil && p.risk.SpendsFreshPass() && c.Valid(now) &&
		c.LoginRule == RiskName && !c.FreshSpent
}

// LoopWindow bounds the loop guard: a login made for a requirement that
// already failed it when it was minted (an IdP that keeps returning a weak
// acr, clock skew, a rule changed meanwhile) is a loop, not a reason to
// redirect again. A session that met it then and has simply aged since (a
// short max_age) is not a loop.
const LoopWindow = 20 * time.Second

// Loops reports whether sending c to log in for req again would loop: its
// latest login was made for req moments ago and did not meet it.
func (req *Requirement) Loops(c *Claims, now time.Time) bool {
	if !c.Valid(now) || c.LoginRule != req.Name || now.Sub(c.Issued) > LoopWindow {
		return false
	}
	// A spent max_age 0 pass legitimately asks for the next fresh login.
	if req.SpendsFreshPass() && c.FreshSpent {
		return false
	}
	return req.Check(c, c.Issued) != ""
}
