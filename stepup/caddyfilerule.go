package stepup

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// rule parses one `rule <name> { ... }` block of the stepup directive.
func (p caddyfileParser) rule(d *caddyfile.Dispenser) (*Rule, error) {
	rule := &Rule{}
	if !d.NextArg() || d.Val() == "" {
		return nil, d.Err("stepup: rule needs a name: rule <name> { ... }")
	}
	rule.Name = d.Val()
	if d.NextArg() {
		return nil, d.Errf("stepup: rule %q: unexpected argument %q; put matchers in a match block", rule.Name, d.Val())
	}
	seen := map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key := d.Val()
		if seen[key] && key != "match" {
			return nil, d.Errf("stepup: rule %q: %s is set twice", rule.Name, key)
		}
		seen[key] = true
		var err error
		switch key {
		case "match":
			var set caddy.ModuleMap
			set, err = p.matcherSet(d, rule.Name)
			if err == nil {
				rule.MatcherSetsRaw = append(rule.MatcherSetsRaw, set)
			}
		case "acr":
			rule.ACR, err = someArgs(d)
		case "amr":
			rule.AMR, err = someArgs(d)
		case "max_age":
			var v string
			if err = oneArg(d, &v); err != nil {
				break
			}
			dur, perr := caddy.ParseDuration(v)
			if perr != nil || dur < 0 {
				return nil, d.Errf("stepup: rule %q: max_age %q is not a duration such as 5m or 0", rule.Name, v)
			}
			md := caddy.Duration(dur)
			rule.MaxAge = &md
		case "report_only":
			err = flagArg(d, &rule.ReportOnly)
		case "risk_step_up", "risk_deny":
			var v string
			if err = oneArg(d, &v); err != nil {
				break
			}
			n, perr := strconv.Atoi(v)
			if perr != nil || n < 1 || n > 100 {
				return nil, d.Errf("stepup: rule %q: %s %q is not a score from 1 to 100", rule.Name, key, v)
			}
			if key == "risk_step_up" {
				rule.RiskStepUp = n
			} else {
				rule.RiskDeny = n
			}
		default:
			return nil, d.Errf("stepup: rule %q: unknown subdirective %q (use match, acr, amr, max_age, report_only, risk_step_up, risk_deny)", rule.Name, key)
		}
		if err != nil {
			return nil, err
		}
	}
	return rule, nil
}

// matcherSet parses `match { ... }`, `match @name` or `match /path*`.
func (p caddyfileParser) matcherSet(d *caddyfile.Dispenser, rule string) (caddy.ModuleMap, error) {
	if d.CountRemainingArgs() > 0 {
		if p.named == nil {
			d.NextArg()
			return nil, d.Errf("stepup: rule %q: matcher %q can only be used inside a site block", rule, d.Val())
		}
		set, ok, err := p.named()
		if err != nil {
			return nil, d.Errf("stepup: rule %q: %v", rule, err)
		}
		if !ok || set == nil {
			return nil, d.Errf("stepup: rule %q: match takes @name, a path or a block, not %q", rule, d.Val())
		}
		if d.NextArg() {
			return nil, d.Errf("stepup: rule %q: match takes one matcher token, not also %q", rule, d.Val())
		}
		return set, nil
	}
	set, err := caddyhttp.ParseCaddyfileNestedMatcherSet(d)
	if err != nil {
		return nil, err
	}
	if len(set) == 0 {
		return nil, d.Errf("stepup: rule %q: empty match block", rule)
	}
	return set, nil
}
