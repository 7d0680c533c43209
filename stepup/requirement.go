package stepup

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// requirement is a rule compiled for the request path: what a session must
// show to pass.
type requirement struct {
	rule      string
	acr       []string // acceptable values as configured, sent as acr_values
	minLevel  int      // index in the assurance levels of the weakest acceptable acr; -1 when none is ranked
	amr       []string
	maxAge    time.Duration
	hasMaxAge bool

	acrValues string // acr joined for the wire, precomputed
	maxAgeSec string

	reportOnly bool // evaluate and record, never enforce

	// Risk thresholds that override the risk block's for this rule; 0 = inherit.
	riskStepUp, riskDeny int
}

// levels ranks acr values from weakest to strongest.
type levels map[string]int

func newLevels(ordered []string) levels {
	l := make(levels, len(ordered))
	for i, v := range ordered {
		l[v] = i
	}
	return l
}

func newRequirement(rule string, acr, amr []string, maxAge *time.Duration, lv levels) *requirement {
	req := &requirement{rule: rule, acr: acr, amr: amr, minLevel: -1}
	for _, v := range acr {
		if lvl, ok := lv[v]; ok && (req.minLevel < 0 || lvl < req.minLevel) {
			req.minLevel = lvl
		}
	}
	if maxAge != nil {
		req.maxAge, req.hasMaxAge = *maxAge, true
		req.maxAgeSec = strconv.FormatInt(int64(maxAge.Seconds()), 10)
	}
	req.acrValues = strings.Join(acr, " ")
	return req
}

// Reasons a session falls short; they are bounded values used as metric labels.
const (
	reasonNoSession = "no_session"
	reasonACR       = "acr"
	reasonAMR       = "amr"
	reasonMaxAge    = "max_age"
	// reasonInvalidToken: a bearer token that does not verify.
	reasonInvalidToken = "invalid_token"
)

// freshPassWindow is how long after a max_age 0 login its one request may
// arrive: the browser follows our redirect straight back.
const freshPassWindow = time.Minute

// check returns "" when s satisfies the requirement at now, else the reason.
// Pure: everything it needs is in its arguments.
func (req *requirement) check(s *session, now time.Time, lv levels) string {
	if !s.valid(now) {
		return reasonNoSession
	}
	if !req.acrSatisfied(s.ACR, lv) {
		return reasonACR
	}
	if !s.hasAMR(req.amr) {
		return reasonAMR
	}
	if !req.hasMaxAge {
		return ""
	}
	if req.maxAge == 0 {
		if s.LoginRule == req.rule && !s.FreshSpent && now.Sub(s.Issued) < freshPassWindow {
			return ""
		}
		return reasonMaxAge
	}
	if s.AuthTime.IsZero() || now.Sub(s.AuthTime) > req.maxAge {
		return reasonMaxAge
	}
	return ""
}

// acrSatisfied: an exact listed value passes; with ranked levels, any value
// ranked at least as strong as the weakest acceptable one passes too.
func (req *requirement) acrSatisfied(have string, lv levels) bool {
	if len(req.acr) == 0 || slices.Contains(req.acr, have) {
		return true
	}
	if req.minLevel < 0 {
		return false
	}
	lvl, ok := lv[have]
	return ok && lvl >= req.minLevel
}

// spendsFreshPass reports whether passing this request uses up the one
// request a max_age 0 login allows.
func (req *requirement) spendsFreshPass() bool {
	return req.hasMaxAge && req.maxAge == 0
}
