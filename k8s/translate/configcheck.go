package translate

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Mirrors of the stepup handler's own limits, so that a config this accepts
// also loads in Caddy (the tests check that it does).
var (
	envPlaceholder    = regexp.MustCompile(`^\{env\.[A-Za-z_][A-Za-z0-9_]*\}$`)
	cookieNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	headerNamePattern = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$")
	maxSessionLife    = 30 * 24 * time.Hour
)

func (c *Config) validate() error {
	if err := c.validateProvider(); err != nil {
		return err
	}
	for i, v := range c.ACRLevels {
		if checkClaimValue(v) != nil || slices.Contains(c.ACRLevels[:i], v) {
			return fmt.Errorf("acr_levels: %q is empty, repeated or has spaces, quotes or backslashes", v)
		}
	}
	if err := c.validateSession(); err != nil {
		return err
	}
	for name := range c.UpstreamHeaders {
		if !headerNamePattern.MatchString(name) {
			return fmt.Errorf("upstream_headers: %q is not a header field name", name)
		}
	}
	for _, name := range c.StripHeaders {
		if !headerNamePattern.MatchString(name) {
			return fmt.Errorf("strip_headers: %q is not a header field name", name)
		}
	}
	for _, aud := range c.BearerAudiences {
		if strings.TrimSpace(aud) == "" {
			return errors.New("bearer_audiences: empty audience")
		}
	}
	if p := c.PostLogoutRedirect; p != "" && (!strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, `\`) || strings.IndexFunc(p, isSpaceOrControl) >= 0) {
		return fmt.Errorf("post_logout_redirect: %q must be a same-site absolute path", p)
	}
	if len(c.Risk) > 0 {
		r, err := parseRiskBlock(c.Risk)
		if err != nil {
			return err
		}
		c.risk = r
	}
	return c.parsePolicies()
}

func (c *Config) validateProvider() error {
	p := c.Provider
	if p.Issuer == "" {
		return fmt.Errorf("provider issuer: required (set it in the config or %s)", EnvIssuer)
	}
	u, err := url.Parse(p.Issuer)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("provider issuer: %q is not an absolute URL without query or fragment", p.Issuer)
	}
	loopback := u.Hostname() == "localhost" || net.ParseIP(u.Hostname()).IsLoopback()
	if u.Scheme != "https" && !(u.Scheme == "http" && c.InsecureLoopbackHTTP && loopback) {
		return fmt.Errorf("provider issuer: %q must use https", p.Issuer)
	}
	if p.ClientID == "" {
		return fmt.Errorf("provider client_id: required (set it in the config or %s)", EnvClientID)
	}
	if !envPlaceholder.MatchString(p.ClientSecret) {
		return errors.New("provider client_secret: must be an environment placeholder such as {env.STEPUP_CLIENT_SECRET}, filled from a Secret; never the secret itself")
	}
	for _, s := range p.Scopes {
		if s == "" || strings.IndexFunc(s, isSpaceOrControl) >= 0 || strings.ContainsAny(s, `"\`) {
			return fmt.Errorf("provider scopes: %q is not a scope", s)
		}
	}
	return nil
}

func (c *Config) validateSession() error {
	s := c.Session
	if s == nil {
		return nil
	}
	if s.CookieName != "" && !cookieNamePattern.MatchString(s.CookieName) {
		return fmt.Errorf("session cookie_name: %q must be letters, digits, '-' or '_'", s.CookieName)
	}
	var lifetime, rotation time.Duration
	if s.Lifetime != "" {
		d, err := parseDuration(s.Lifetime)
		if err != nil || d < time.Second || d > maxSessionLife {
			return fmt.Errorf("session lifetime: %q must be a duration from 1s to 720h", s.Lifetime)
		}
		lifetime = d
	}
	if s.KeyRotation != "" {
		d, err := parseDuration(s.KeyRotation)
		if err != nil || d < time.Minute {
			return fmt.Errorf("session key_rotation: %q must be a duration of at least 1m", s.KeyRotation)
		}
		rotation = d
	}
	c.session = stepupSession(s, lifetime, rotation)
	return nil
}

// parsePolicies checks every policy with the annotation parser, so a bad
