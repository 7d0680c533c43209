package stepup

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-stepup/caddy-stepup/stepup/provider"
	"github.com/caddy-stepup/caddy-stepup/stepup/risk"
	"github.com/caddy-stepup/caddy-stepup/stepup/state"
)

// parseCaddyfile sets up the handler from Caddyfile tokens. It hands the
// helper's named-matcher lookup to UnmarshalCaddyfile, so rules can say
// `match @name` as well as inline `match { ... }`.
func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	s := new(Handler)
	p := caddyfileParser{named: func() (caddy.ModuleMap, bool, error) { return h.MatcherToken() }}
	if err := p.unmarshal(h.Dispenser, s); err != nil {
		return nil, err
	}
	return s, nil
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Syntax:
//
//	stepup {
//	    issuer         <url>
//	    client_id      <id>
//	    client_secret  <secret or {env.VAR} / {file.path}>
//	    scopes         <scope...>
//	    auth_param     <name> <value>
//	    step_up_prompt login|retry       # how a step-up makes the IdP authenticate again
//	    health_check_interval <duration> # check a quiet IdP is alive before a login; default 10s
//	    require_login  rules|all
//	    acr_levels     <weakest> ... <strongest>
//	    rule <name> {
//	        match        { <matchers> }   # or: match @named; repeat for OR
//	        acr          <value...>
//	        amr          <value...>
//	        max_age      <duration>      # 0 = fresh login every time
//	        report_only                  # record, do not enforce
//	        risk_step_up <score>         # override the risk thresholds here
//	        risk_deny    <score>
//	    }
//	    risk { ... }                     # see docs/risk.md
//	    state memory|redis <host:port...> { ... }  # see stepup/state
//	    regulation { ... }               # bound failed step-ups; see RegulationConfig
//	    session {
//	        cookie_name  <name>
//	        lifetime     <duration>
//	        key_rotation <duration>
//	    }
//	    assertion {                      # signed step-up assertion upstream
//	        audience     <aud>
//	        header       <field>
//	        lifetime     <duration>
//	        issuer       <iss>
//	        jwks_path    <path>
//	        key_rotation <duration>
//	    }
//	    callback_path        <path>
//	    login_path           <path>
//	    logout_path          <path>
//	    backchannel_logout_path <path>    # OpenID back-channel logout; off by default
//	    post_logout_redirect <path>
//	    idp_logout
//	    bearer_audience      <aud...>
//	    insecure_bearer_untyped          # accept bearer JWTs not typed at+jwt
//	    upstream_header      <field> <value>
//	    strip_header         <field...>
//	    keep_cookies
//	    report_only
//	    log_subjects
//	    log_client_ips
//	    insecure_loopback_http
//	    hold_max_body        <size>|off  # held form submissions; default 64KiB
//	    hold_lifetime        <duration>  # how long a form is held; 1s-5m, default 5m
//	}
//
// Named matchers (`match @admin`) need the Caddyfile's http context and are
// resolved by the `stepup` directive; here only inline blocks are known.
func (s *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return caddyfileParser{}.unmarshal(d, s)
}

// caddyfileParser carries what the directive knows beyond the tokens.
type caddyfileParser struct {
	named func() (caddy.ModuleMap, bool, error)
}

func (p caddyfileParser) unmarshal(d *caddyfile.Dispenser, s *Handler) error {
	d.Next() // directive name
	if d.NextArg() {
		return d.Errf("stepup: unexpected argument %q; all settings go in the block", d.Val())
	}
	seen := map[string]bool{}
	for d.NextBlock(0) {
		key := d.Val()
		if seen[key] && key != "rule" && key != "auth_param" && key != "upstream_header" && key != "strip_header" {
			return d.Errf("stepup: %s is set twice; keep one", key)
		}
		seen[key] = true
		var err error
		switch key {
		case "issuer":
			err = oneArg(d, &s.Provider.Issuer)
		case "client_id":
			err = oneArg(d, &s.Provider.ClientID)
		case "client_secret":
			err = oneArg(d, &s.Provider.ClientSecret)
		case "scopes":
			s.Provider.Scopes, err = someArgs(d)
		case "auth_param":
			var kv []string
			if kv = d.RemainingArgs(); len(kv) != 2 {
				return d.Errf("stepup: auth_param takes a name and a value, got %d arguments", len(kv))
			}
			if s.Provider.AuthParams == nil {
				s.Provider.AuthParams = map[string]string{}
			}
			if _, dup := s.Provider.AuthParams[kv[0]]; dup {
				return d.Errf("stepup: auth_param %q is set twice", kv[0])
			}
			s.Provider.AuthParams[kv[0]] = kv[1]
		case "step_up_prompt":
			err = oneArg(d, &s.Provider.StepUpPrompt)
			if err == nil && s.Provider.StepUpPrompt != stepUpPromptLogin && s.Provider.StepUpPrompt != stepUpPromptRetry {
				return d.Errf("stepup: step_up_prompt %q: use login or retry", s.Provider.StepUpPrompt)
			}
		case "health_check_interval":
			var v string
			if err = oneArg(d, &v); err == nil {
				dur, perr := caddy.ParseDuration(v)
				if perr != nil || dur < provider.MinHealthCheckInterval {
					return d.Errf("stepup: health_check_interval %q is not a duration of at least 1s such as 10s", v)
				}
				s.Provider.HealthCheckInterval = caddy.Duration(dur)
			}
		case "require_login":
			err = oneArg(d, &s.RequireLogin)
			if err == nil && s.RequireLogin != "rules" && s.RequireLogin != "all" {
				return d.Errf("stepup: require_login %q: use rules or all", s.RequireLogin)
			}
		case "acr_levels":
			s.ACRLevels, err = someArgs(d)
		case "rule":
			var rule *Rule
			rule, err = p.rule(d)
			if err == nil {
				s.Rules = append(s.Rules, rule)
			}
		case "risk":
			s.Risk = new(risk.Config)
			err = s.Risk.UnmarshalCaddyfile(d)
		case "state":
			s.State = new(state.Config)
			err = s.State.UnmarshalCaddyfile(d)
		case "session":
			s.Session = new(SessionConfig)
			err = sessionBlock(d, s.Session)
		case "assertion":
			s.Assertion = new(AssertionConfig)
			err = assertionBlock(d, s.Assertion)
		case "callback_path":
			err = oneArg(d, &s.CallbackPath)
		case "login_path":
			err = oneArg(d, &s.LoginPath)
		case "logout_path":
			err = oneArg(d, &s.LogoutPath)
		case "regulation":
			s.Regulation = new(RegulationConfig)
			err = s.Regulation.unmarshalCaddyfile(d)
		case "backchannel_logout_path":
			err = oneArg(d, &s.BackchannelLogoutPath)
		case "post_logout_redirect":
			err = oneArg(d, &s.PostLogoutRedirect)
		case "idp_logout":
			err = flagArg(d, &s.IdPLogout)
		case "bearer_audience":
			s.BearerAudiences, err = someArgs(d)
		case "insecure_bearer_untyped":
			err = flagArg(d, &s.InsecureBearerUntyped)
		case "upstream_header":
			kv := d.RemainingArgs()
			if len(kv) != 2 {
				return d.Errf("stepup: upstream_header takes a field name and a value, got %d arguments", len(kv))
			}
			if s.UpstreamHeaders == nil {
				s.UpstreamHeaders = map[string]string{}
			}
			if _, dup := s.UpstreamHeaders[kv[0]]; dup {
				return d.Errf("stepup: upstream_header %q is set twice", kv[0])
			}
			s.UpstreamHeaders[kv[0]] = kv[1]
		case "strip_header":
			var names []string
			names, err = someArgs(d)
			s.StripHeaders = append(s.StripHeaders, names...)
		case "keep_cookies":
			err = flagArg(d, &s.KeepCookies)
		case "log_subjects":
			err = flagArg(d, &s.LogSubjects)
		case "log_client_ips":
			err = flagArg(d, &s.LogClientIPs)
		case "report_only":
			err = flagArg(d, &s.ReportOnly)
		case "insecure_loopback_http":
			err = flagArg(d, &s.InsecureLoopbackHTTP)
		case "hold_max_body":
			err = holdMaxBodyArg(d, &s.HoldMaxBody)
		case "hold_lifetime":
			err = positiveDuration(d, "stepup", "2m", &s.HoldLifetime)
		default:
			return d.Errf("stepup: unknown subdirective %q", key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func sessionBlock(d *caddyfile.Dispenser, s *SessionConfig) error {
	if d.NextArg() {
		return d.Errf("stepup: session: unexpected argument %q; settings go in the block", d.Val())
	}
	seen := map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key := d.Val()
		if seen[key] {
			return d.Errf("stepup: session: %s is set twice", key)
		}
		seen[key] = true
		switch key {
		case "cookie_name":
			if err := oneArg(d, &s.CookieName); err != nil {
				return err
			}
		case "lifetime":
			if err := positiveDuration(d, "session", "12h", &s.Lifetime); err != nil {
				return err
			}
		case "key_rotation":
			if err := positiveDuration(d, "session", "12h", &s.KeyRotation); err != nil {
				return err
			}
		default:
			return d.Errf("stepup: session: unknown subdirective %q (use cookie_name, lifetime, key_rotation)", key)
		}
	}
	return nil
}

// Interface guards
var _ caddyfile.Unmarshaler = (*Handler)(nil)
