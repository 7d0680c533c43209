package decision

import (
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// RuleSpec is one configured rule with its matchers loaded.
type RuleSpec struct {
	Name                 string
	Match                caddyhttp.MatcherSets // none: every request
	ACR, AMR             []string
	MaxAge               *time.Duration // nil: age does not matter
	ReportOnly           bool
	RiskStepUp, RiskDeny int // 0: the risk block's thresholds
}

// RiskSpec is the risk block's requirement and thresholds.
type RiskSpec struct {
	ACR          []string
	MaxAge       *time.Duration
	ReportOnly   bool
	StepUp, Deny int // scores above these step up and deny
}

// Config is everything a Policy is compiled from.
type Config struct {
	Levels     []string // acr values, weakest first
	Rules      []RuleSpec
	RequireAll bool      // require_login all: requests no rule matches need a login
	ReportOnly bool      // the handler's report_only: nothing is enforced
	Risk       *RiskSpec // nil without a risk block
}

// Policy is the registry of requirements a handler enforces, compiled once
// at provision: its rules in order, the base login and the risk step-up.
// It is read-only afterwards and safe for concurrent use.
type Policy struct {
	levels  Levels
	rules   []rule
	index   *ruleIndex // nil: few rules, tried in turn
	byName  map[string]*Requirement
	base    *Requirement // require_login all; nil otherwise
	risk    *Requirement // nil without a risk block
	stepUp  int
	deny    int
	baseReq *Requirement // the base login, whether or not require_login is all
}

type rule struct {
	req   *Requirement
	match caddyhttp.MatcherSets
}

// matches returns the rule's requirement when it covers r.
func (ru *rule) matches(r *http.Request) (*Requirement, error) {
	if len(ru.match) == 0 {
		return ru.req, nil
	}
	ok, err := ru.match.AnyMatchWithError(r)
	if err != nil {
		return nil, fmt.Errorf("rule %q: %w", ru.req.Name, err)
	}
	if ok {
		return ru.req, nil
	}
	return nil, nil
}

// New compiles cfg. Names are assumed valid and unique (the handler's
// Validate checks them).
func New(cfg Config) *Policy {
	p := &Policy{levels: NewLevels(cfg.Levels), byName: make(map[string]*Requirement, len(cfg.Rules))}
	for _, spec := range cfg.Rules {
		req := NewRequirement(spec.Name, spec.ACR, spec.AMR, spec.MaxAge, p.levels)
		req.ReportOnly = spec.ReportOnly || cfg.ReportOnly
		req.RiskStepUp, req.RiskDeny = spec.RiskStepUp, spec.RiskDeny
		p.rules = append(p.rules, rule{req: req, match: spec.Match})
		if _, dup := p.byName[spec.Name]; !dup {
			p.byName[spec.Name] = req
		}
	}
	if len(p.rules) >= ruleIndexMin {
		p.index = newRuleIndex(p.rules)
	}
	p.baseReq = NewRequirement(DefaultName, nil, nil, nil, p.levels)
	p.baseReq.ReportOnly = cfg.ReportOnly
	if cfg.RequireAll {
		p.base = p.baseReq
	}
	if cfg.Risk != nil {
		p.risk = NewRequirement(RiskName, cfg.Risk.ACR, nil, cfg.Risk.MaxAge, p.levels)
		p.risk.ReportOnly = cfg.Risk.ReportOnly || cfg.ReportOnly
		p.stepUp, p.deny = cfg.Risk.StepUp, cfg.Risk.Deny
		p.byName[RiskName] = p.risk
	}
	return p
}

// Match returns what the request needs before any credential is read: the
// first rule in order that matches it, else the base login under
// require_login all, else nil (nothing is asked of it).
func (p *Policy) Match(r *http.Request) (*Requirement, error) {
	var req *Requirement
	var err error
	if p.index != nil {
		req, err = p.index.first(r)
	} else {
		req, err = firstLinear(p.rules, r)
	}
	if req != nil || err != nil {
		return req, err
	}
	return p.base, nil
}

// Login returns the requirement a login link asks for: the rule of that
// name, the risk step-up for RiskName (an API client's risk challenge
// links there), or the base login for "". ok is false for an unknown name.
func (p *Policy) Login(name string) (req *Requirement, ok bool) {
	if name == "" {
		return p.baseReq, true
	}
	req, ok = p.byName[name]
	return req, ok
}

// Risk is the risk step-up requirement, or nil without a risk block.
func (p *Policy) Risk() *Requirement { return p.risk }

// Recreate rebuilds the requirement a login flow was started for, from the
// values the flow carries, so the callback checks exactly what was asked.
func (p *Policy) Recreate(name string, acr, amr []string, maxAge *time.Duration) *Requirement {
	return NewRequirement(name, acr, amr, maxAge, p.levels)
}
