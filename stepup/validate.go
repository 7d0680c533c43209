package stepup

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/internal/loopback"
	"github.com/caddy-stepup/caddy-stepup/stepup/provider"
	"github.com/caddy-stepup/caddy-stepup/stepup/risk"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// cookieNamePattern is what session cookie_name may be: a cookie name
// that needs no quoting and fits the prefixes.
var cookieNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Validate checks the configuration; every error names the field and the fix.
func (h *Handler) Validate() error {
	if err := h.validateProvider(); err != nil {
		return err
	}
	switch h.RequireLogin {
	case "", "rules", "all":
	default:
		return fmt.Errorf("require_login: %q is not one of rules, all", h.RequireLogin)
	}
	if err := h.Regulation.validate(); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, v := range h.ACRLevels {
		if !acrValuePattern.MatchString(v) || seen[v] {
			return fmt.Errorf("acr_levels: %q is empty, repeated or has spaces, quotes or backslashes", v)
		}
		seen[v] = true
	}
	names := map[string]bool{}
	for _, rule := range h.Rules {
		if err := rule.validate(); err != nil {
			return err
		}
		if rule.Name == decision.RiskName {
			return fmt.Errorf("rule name %q is reserved for risk-based step-up; pick another", rule.Name)
		}
		if names[rule.Name] {
			return fmt.Errorf("rule %q is defined twice; rule names must be unique", rule.Name)
		}
		names[rule.Name] = true
	}
	paths := map[string]string{"callback_path": h.CallbackPath, "login_path": h.LoginPath, "logout_path": h.LogoutPath}
	if h.BackchannelLogoutPath != "" {
		paths["backchannel_logout_path"] = h.BackchannelLogoutPath
	}
	for field, p := range paths {
		if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?# \t") {
			return fmt.Errorf("%s: %q must be a plain absolute path such as /.stepup/callback", field, p)
		}
	}
	if !isSafeReturnPath(h.PostLogoutRedirect) {
		return fmt.Errorf("post_logout_redirect: %q must be a same-site absolute path", h.PostLogoutRedirect)
	}
	if h.sessionLifetime <= 0 || h.sessionLifetime > session.KeyRetention {
		return fmt.Errorf("session lifetime: %s must be between 1s and %s", h.sessionLifetime, session.KeyRetention)
	}
	if h.Session.KeyRotation < caddy.Duration(time.Minute) {
		return fmt.Errorf("session key_rotation: %s is shorter than 1m", time.Duration(h.Session.KeyRotation))
	}
	if h.State != nil {
		if err := h.State.Validate(); err != nil {
			return err
		}
	}
	if !cookieNamePattern.MatchString(h.Session.CookieName) {
		return fmt.Errorf("session cookie_name: %q must be letters, digits, '-' or '_'", h.Session.CookieName)
	}
	if n := h.Session.CookieName; n == risk.DeviceCookieName || strings.HasPrefix(n, flowCookiePrefix) {
		return fmt.Errorf("session cookie_name: %q is the name of one of stepup's other cookies (%s, %s…); pick another, such as %s", n, risk.DeviceCookieName, flowCookiePrefix, defaultCookieName)
	}
	if err := h.validateACRLevels(); err != nil {
		return err
	}
	return h.validateAssertion()
}

// validateACRLevels refuses, when acr_levels ranks the values, an acr a rule
// or the risk block asks for that is not ranked: a typo there is a level no
// login can reach, so the rule would silently refuse everyone.
func (h *Handler) validateACRLevels() error {
	if len(h.ACRLevels) == 0 {
		return nil
	}
	ranked := decision.NewLevels(h.ACRLevels)
	check := func(where string, acr []string) error {
		for _, v := range acr {
			if _, ok := ranked[v]; !ok {
				return fmt.Errorf("%s: acr %q is not in acr_levels (%s); fix its spelling or add it to acr_levels", where, v, strings.Join(h.ACRLevels, " "))
			}
		}
		return nil
	}
	for _, rule := range h.Rules {
		if err := check(fmt.Sprintf("rule %q", rule.Name), rule.ACR); err != nil {
			return err
		}
	}
	if h.Risk != nil {
		return check("risk", h.Risk.ACR)
	}
	return nil
}

func (h *Handler) validateProvider() error {
	p := h.Provider
	if p.Issuer == "" {
		return errors.New("provider issuer: required (the OpenID Provider's issuer URL)")
	}
	u, err := url.Parse(p.Issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("provider issuer: %q is not an absolute URL without query or fragment", p.Issuer)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && h.InsecureLoopbackHTTP && loopback.Host(u.Hostname()):
	case u.Scheme == "http" && loopback.Host(u.Hostname()):
		return fmt.Errorf("provider issuer: %q is plain HTTP; use https, or for local development on loopback set insecure_loopback_http", p.Issuer)
	default:
		return fmt.Errorf("provider issuer: %q must use https", p.Issuer)
	}
	if p.ClientID == "" {
		return errors.New("provider client_id: required (this relying party's client id at the IdP)")
	}
	if p.HealthCheckInterval != 0 && time.Duration(p.HealthCheckInterval) < provider.MinHealthCheckInterval {
		return fmt.Errorf("provider health_check_interval: %s is shorter than 1s", time.Duration(p.HealthCheckInterval))
	}
	switch p.StepUpPrompt {
	case "", stepUpPromptLogin, stepUpPromptRetry:
	default:
		return fmt.Errorf("provider step_up_prompt: %q is not one of login, retry", p.StepUpPrompt)
	}
	for k := range p.AuthParams {
		if provider.ControlledParam(k) {
			return fmt.Errorf("provider auth_param %q: stepup sets this parameter itself; remove it", k)
		}
	}
	return nil
}
