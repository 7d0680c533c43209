package translate

import (
	"encoding/json"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-stepup/caddy-stepup/stepup"
	"github.com/caddy-stepup/caddy-stepup/stepup/risk"
)

// The stepup handler's config is built from the handler's own exported
// types (stepup.Handler, stepup.Rule, stepup.ProviderConfig,
// stepup.SessionConfig, risk.Config), so a field the handler renames or
// retypes breaks this build instead of silently producing JSON the
// handler rejects or ignores. Durations are caddy.Duration: they encode
// as nanoseconds, as `caddy adapt` writes them.

// stepupHandler is the handler for the Ingress namespace/name with one rule,
// the controller-wide settings and, when the rule opts in, the risk block.
func (c *Config) stepupHandler(namespace, name string, rule *stepup.Rule, riskCfg *risk.Config, reportOnly bool) *stepup.Handler {
	h := &stepup.Handler{
		Provider: stepup.ProviderConfig{
			Issuer:       c.Provider.Issuer,
			ClientID:     c.Provider.ClientID,
			ClientSecret: c.Provider.ClientSecret,
			Scopes:       c.Provider.Scopes,
		},
		ACRLevels:            c.ACRLevels,
		Rules:                []*stepup.Rule{rule},
		Risk:                 riskCfg,
		Session:              c.session,
		PostLogoutRedirect:   c.PostLogoutRedirect,
		IdPLogout:            c.IdPLogout,
		BearerAudiences:      c.BearerAudiences,
		UpstreamHeaders:      c.UpstreamHeaders,
		StripHeaders:         c.StripHeaders,
		ReportOnly:           reportOnly,
		LogSubjects:          c.LogSubjects,
		LogClientIPs:         c.LogClientIPs,
		InsecureLoopbackHTTP: c.InsecureLoopbackHTTP,
	}
	h.CallbackPath, h.LoginPath, h.LogoutPath = Endpoints(namespace, name)
	return h
}

// stepupRule is the handler's rule for s: its matchers (paths and methods
// in one set, so both must match), acr, amr and max_age.
func stepupRule(name string, s settings) *stepup.Rule {
	r := &stepup.Rule{Name: name, ACR: s.acr, AMR: s.amr}
	if len(s.paths) > 0 || len(s.methods) > 0 {
		set := caddy.ModuleMap{}
		if len(s.paths) > 0 {
			set["path"] = mustJSON(caddyhttp.MatchPath(s.paths))
		}
		if len(s.methods) > 0 {
			set["method"] = mustJSON(caddyhttp.MatchMethod(s.methods))
		}
		r.MatcherSetsRaw = caddyhttp.RawMatcherSets{set}
	}
	if s.maxAge != nil {
		r.MaxAge = duration(*s.maxAge)
	}
	return r
}

// stepupSession is the handler's session block for the controller's.
func stepupSession(s *Session, lifetime, keyRotation time.Duration) *stepup.SessionConfig {
	return &stepup.SessionConfig{
		CookieName:  s.CookieName,
		Lifetime:    caddy.Duration(lifetime),
		KeyRotation: caddy.Duration(keyRotation),
	}
}

func duration(d time.Duration) *caddy.Duration {
	cd := caddy.Duration(d)
	return &cd
}

// moduleJSON encodes h as a handler module in a route: its JSON with the
// module name first ("handler": "stepup"), the fields in the handler's
// declaration order.
func moduleJSON(h *stepup.Handler) json.RawMessage {
	fields := mustJSON(h) // an object, never empty: provider is always there
	return append(append(json.RawMessage{}, stepupModulePrefix...), fields[1:]...)
}

// stepupModulePrefix starts every handler moduleJSON writes; Guard finds
// them by it.
var stepupModulePrefix = []byte(`{"handler":"stepup",`)
