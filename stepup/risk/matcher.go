package risk

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(MatchRisk{})
}

// MatchRisk matches requests whose risk score, set earlier in the same
// request by the stepup handler, is above a threshold. Requests the handler
// did not score (no `risk` block, or the matcher runs before the handler)
// do not match. Caddyfile:
//
//	@risky stepup_risk <threshold>
type MatchRisk struct {
	// Above is the score (0-100) a request's risk score must exceed to
	// match.
	Above int `json:"above"`
}

// CaddyModule returns the Caddy module information.
func (MatchRisk) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.matchers.stepup_risk",
		New: func() caddy.Module { return new(MatchRisk) },
	}
}

// Validate checks the threshold.
func (m *MatchRisk) Validate() error {
	if m.Above < 0 || m.Above > 100 {
		return fmt.Errorf("stepup_risk above: %d must be a score from 0 to 100", m.Above)
	}
	return nil
}

// UnmarshalCaddyfile parses `stepup_risk <threshold>`.
func (m *MatchRisk) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	seen := false
	for d.Next() {
		if seen {
			return d.Err("stepup_risk: set once per matcher set")
		}
		seen = true
		args := d.RemainingArgs()
		if len(args) != 1 {
			return fmt.Errorf("stepup_risk: takes one threshold score: %w", d.ArgErr())
		}
		n, err := strconv.Atoi(args[0])
		if err != nil || n < 0 || n > 100 {
			return d.Errf("stepup_risk: threshold %q is not a whole number from 0 to 100", args[0])
		}
		m.Above = n
		if d.NextBlock(0) {
			return d.Errf("stepup_risk: takes no block, found %q", d.Val())
		}
	}
	return nil
}

// MatchWithError reports whether the request's score is above the threshold.
func (m MatchRisk) MatchWithError(r *http.Request) (bool, error) {
	score, ok := caddyhttp.GetVar(r.Context(), ScoreVar).(int)
	return ok && score > m.Above, nil
}

// Match is MatchWithError for callers of the older interface.
func (m MatchRisk) Match(r *http.Request) bool {
	ok, _ := m.MatchWithError(r)
	return ok
}

// Interface guards
var (
	_ caddy.Validator                   = (*MatchRisk)(nil)
	_ caddyfile.Unmarshaler             = (*MatchRisk)(nil)
	_ caddyhttp.RequestMatcherWithError = MatchRisk{}
)
