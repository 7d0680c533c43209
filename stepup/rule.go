package stepup

import (
	"fmt"
	"regexp"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// Rule marks a set of requests as sensitive and says how strong and how
// recent the user's authentication must be for them. Rules are tried in
// order; the first whose matchers match the request decides.
type Rule struct {
	// Name identifies the rule in logs, metrics and the `{http.stepup.rule}`
	// placeholder. Letters, digits, `-` and `_`; unique within the handler.
	Name string `json:"name"`

	// Match is a list of Caddy matcher sets (path, method, host, header,
	// query, remote_ip, client_ip, expression, ...). The rule applies when
	// any set matches; with no sets it applies to every request.
	MatcherSetsRaw caddyhttp.RawMatcherSets `json:"match,omitempty" caddy:"namespace=http.matchers"`

	// ACR lists acceptable authentication context class references. With
	// `acr_levels` configured, any value at least as strong as the weakest
	// listed level is also accepted. Sent to the IdP as `acr_values`.
	// Default: any acr.
	ACR []string `json:"acr,omitempty"`

	// AMR lists authentication methods that must all appear in the `amr`
	// claim (for example `otp`). Default: none required.
	AMR []string `json:"amr,omitempty"`

	// MaxAge is how long ago the user may have authenticated at the IdP.
	// Zero demands a fresh login for every request the rule covers. Unset
	// (null) means the session's age does not matter. Sent as `max_age`.
	MaxAge *caddy.Duration `json:"max_age,omitempty"`

	// ReportOnly evaluates and records this rule without enforcing it.
	// Default: false (or the handler's report_only).
	ReportOnly bool `json:"report_only,omitempty"`

	// RiskStepUp overrides the risk block's step_up threshold (1-99) for
	// requests this rule matches. Default: the risk block's.
	RiskStepUp int `json:"risk_step_up,omitempty"`

	// RiskDeny overrides the risk block's deny threshold (2-100) for
	// requests this rule matches. Default: the risk block's.
	RiskDeny int `json:"risk_deny,omitempty"`
}

// ruleNamePattern keeps names safe as metric labels and log values.
var ruleNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// acrValuePattern keeps acr values safe inside the space-separated
// acr_values parameter and the quoted WWW-Authenticate attribute.
var acrValuePattern = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]{1,255}$`)

func (r *Rule) validate() error {
	if !ruleNamePattern.MatchString(r.Name) {
		return fmt.Errorf("rule name %q: use 1-64 letters, digits, '-' or '_'", r.Name)
	}
	if r.Name == decision.DefaultName {
		return fmt.Errorf("rule name %q is reserved for the base login requirement; pick another", r.Name)
	}
	for _, v := range append(append([]string{}, r.ACR...), r.AMR...) {
		if !acrValuePattern.MatchString(v) {
			return fmt.Errorf("rule %q: acr/amr value %q must be printable ASCII without spaces, quotes or backslashes", r.Name, v)
		}
	}
	if r.RiskStepUp < 0 || r.RiskStepUp > 99 || r.RiskDeny < 0 || r.RiskDeny > 100 {
		return fmt.Errorf("rule %q: risk_step_up must be 1-99 and risk_deny 2-100", r.Name)
	}
	if r.RiskStepUp > 0 && r.RiskDeny > 0 && r.RiskDeny <= r.RiskStepUp {
		return fmt.Errorf("rule %q: risk_deny %d must be above risk_step_up %d", r.Name, r.RiskDeny, r.RiskStepUp)
	}
	if r.MaxAge != nil && *r.MaxAge < 0 {
		return fmt.Errorf("rule %q: max_age %s is negative", r.Name, time.Duration(*r.MaxAge))
	}
	return nil
}
