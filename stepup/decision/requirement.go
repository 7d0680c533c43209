// Package decision decides, without any I/O, whether a request passes, needs
// a step-up login or is refused, from the request's matched requirement, its
// session's claims and its risk score. It owns the registry of requirements
// compiled at provision (the rules, the base login of require_login all and
// the risk step-up), the rule index that matches them, and the checks.
package decision

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Names of the two requirements that are not rules. Rule names may not take
// them (the handler's Validate refuses them).
const (
	DefaultName = "default" // the base login requirement (require_login all)
	RiskName    = "risk"    // what a request scored above the step-up threshold must meet
)

// Reasons a session falls short; they are bounded values used as metric labels.
const (
	ReasonNoSession = "no_session"
	ReasonACR       = "acr"
	ReasonAMR       = "amr"
	ReasonMaxAge    = "max_age"
	// ReasonInvalidToken: a bearer token that does not verify.
	ReasonInvalidToken = "invalid_token"
)

// FreshPassWindow is how long after a max_age 0 login its one request may
// arrive: the browser follows our redirect straight back.
const FreshPassWindow = time.Minute

// Claims are the session facts a requirement is checked against: what the
// session cookie (or a bearer token) says about the user's latest login.
type Claims struct {
	Subject  string
	ACR      string
	AMR      []string
	AuthTime time.Time // when the user last authenticated at the IdP
	Issued   time.Time // when the session was minted
	Expires  time.Time

	// LoginRule names the requirement the latest login was made for, and
	// FreshSpent says its max_age 0 pass has been used.
	LoginRule  string
	FreshSpent bool
}

// Valid reports whether there are claims at all at now.
func (c *Claims) Valid(now time.Time) bool {
	return c != nil && c.Subject != "" && now.Before(c.Expires)
}

// Levels ranks acr values from weakest to strongest.
type Levels map[string]int

// NewLevels ranks ordered, weakest first.
func NewLevels(ordered []string) Levels {
	l := make(Levels, len(ordered))
	for i, v := range ordered {
		l[v] = i
	}
	return l
}

// Requirement is what a session must show to pass: a rule compiled, the
// base login, or the risk step-up.
type Requirement struct {
	Name      string
	ACR       []string // acceptable values as configured, sent as acr_values
	AMR       []string
	MaxAge    time.Duration
	HasMaxAge bool

	ACRValues string // ACR joined for the wire, precomputed
	MaxAgeSec string // MaxAge in seconds for the wire

	ReportOnly bool // evaluate and record, never enforce

	// Risk thresholds that override the risk block's for this rule; 0 = inherit.
	RiskStepUp, RiskDeny int

	levels   Levels
	minLevel int // rank of the weakest acceptable acr; -1 when none is ranked
}

// NewRequirement compiles a requirement; maxAge nil means age does not
// matter. levels ranks acr values (nil: exact values only).
func NewRequirement(name string, acr, amr []string, maxAge *time.Duration, levels Levels) *Requirement {
	req := &Requirement{Name: name, ACR: acr, AMR: amr, levels: levels, minLevel: -1}
	for _, v := range acr {
		if lvl, ok := levels[v]; ok && (req.minLevel < 0 || lvl < req.minLevel) {
			req.minLevel = lvl
		}
	}
	if maxAge != nil {
		req.MaxAge, req.HasMaxAge = *maxAge, true
		req.MaxAgeSec = strconv.FormatInt(int64(maxAge.Seconds()), 10)
	}
	req.ACRValues = strings.Join(acr, " ")
	return req
}

// Check returns "" when c satisfies the requirement at now, else the reason.
func (req *Requirement) Check(c *Claims, now time.Time) string {
	if !c.Valid(now) {
		return ReasonNoSession
	}
	if !req.ACRSatisfied(c.ACR) {
		return ReasonACR
	}
	if !HasAMR(c.AMR, req.AMR) {
		return ReasonAMR
	}
	if !req.HasMaxAge {
		return ""
	}
	if req.MaxAge == 0 {
		if req.freshPassOf(c, now) {
			return ""
		}
		return ReasonMaxAge
	}
	if c.AuthTime.IsZero() || now.Sub(c.AuthTime) > req.MaxAge {
		return ReasonMaxAge
	}
	return ""
}

// freshPassOf reports whether c holds the unspent one-request pass of a
// login made for this requirement within FreshPassWindow.
func (req *Requirement) freshPassOf(c *Claims, now time.Time) bool {
	return c.Valid(now) && c.LoginRule == req.Name && !c.FreshSpent && now.Sub(c.Issued) < FreshPassWindow
}

// ACRSatisfied: an exact listed value passes; with ranked levels, any value
// ranked at least as strong as the weakest acceptable one passes too.
func (req *Requirement) ACRSatisfied(have string) bool {
	if len(req.ACR) == 0 || slices.Contains(req.ACR, have) {
		return true
	}
	if req.minLevel < 0 {
		return false
	}
	lvl, ok := req.levels[have]
	return ok && lvl >= req.minLevel
}

// HasAMR reports whether every method in want appears in have.
func HasAMR(have, want []string) bool {
	for _, m := range want {
		if !slices.Contains(have, m) {
			return false
		}
	}
	return true
}

// SpendsFreshPass reports whether passing this requirement uses up the one
// request a max_age 0 login allows.
func (req *Requirement) SpendsFreshPass() bool {
	return req.HasMaxAge && req.MaxAge == 0
}
