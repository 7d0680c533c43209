package translate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/caddy-stepup/caddy-stepup/stepup"
)

// Config is the controller-wide step-up configuration: the OpenID Provider
// and the settings every protected Ingress shares, plus named policies.
// Field names and meanings are the stepup handler's (its JSON config), so the
// handler's docs apply; what only an operator may decide lives here, never in
// annotations. Read it with LoadConfig.
type Config struct {
	// Provider is the OpenID Provider. STEPUP_ISSUER and STEPUP_CLIENT_ID in
	// the controller's environment override issuer and client_id.
	Provider Provider `json:"provider"`

	// ACRLevels ranks acr values from weakest to strongest.
	ACRLevels []string `json:"acr_levels,omitempty"`

	// Session configures the session cookie (cookie_name, lifetime, key_rotation).
	Session *Session `json:"session,omitempty"`

	// UpstreamHeaders are set on requests that pass a check, e.g.
	// `X-Auth-User: "{http.auth.user.id}"`.
	UpstreamHeaders map[string]string `json:"upstream_headers,omitempty"`

	// StripHeaders are deleted from every request of a protected Ingress.
	StripHeaders []string `json:"strip_headers,omitempty"`

	// BearerAudiences enables bearer access tokens with one of these audiences.
	BearerAudiences []string `json:"bearer_audiences,omitempty"`

	// PostLogoutRedirect is the same-site path a browser lands on after logout.
	PostLogoutRedirect string `json:"post_logout_redirect,omitempty"`

	// IdPLogout also ends the session at the IdP on logout.
	IdPLogout bool `json:"idp_logout,omitempty"`

	// LogSubjects adds the user's subject to step-up log events.
	LogSubjects bool `json:"log_subjects,omitempty"`

	// LogClientIPs adds the client IP to step-up log events.
	LogClientIPs bool `json:"log_client_ips,omitempty"`

	// InsecureLoopbackHTTP allows a plain-HTTP issuer and site on loopback.
	// For local tests only; never in a cluster.
	InsecureLoopbackHTTP bool `json:"insecure_loopback_http,omitempty"`

	// Risk is the stepup handler's risk block (its signals and, optionally,
	// default thresholds). An Ingress is scored only when it opts in with
	// risk-step-up or risk-deny (or a policy that sets them).
	Risk json.RawMessage `json:"risk,omitempty"`

	// Policies are named sets of annotation values (keys without the
	// prefix, policy excluded) that Ingresses refer to with the policy
	// annotation. Values may be strings, numbers, booleans or lists.
	Policies map[string]map[string]json.RawMessage `json:"policies,omitempty"`

	policies map[string]settings
	risk     *riskBlock
	session  *stepup.SessionConfig // Session in the handler's type
}

// Provider is the OpenID Provider the controller's Caddy logs users in with.
type Provider struct {
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
	// ClientSecret must be an environment placeholder, `{env.NAME}`, so the
	// secret comes from a Kubernetes Secret through the pod's environment.
	// Default: {env.STEPUP_CLIENT_SECRET}.
	ClientSecret string   `json:"client_secret,omitempty"`
	Scopes       []string `json:"scopes,omitempty"`
}

// Session configures the session cookie; durations need a unit.
type Session struct {
	CookieName  string `json:"cookie_name,omitempty"`
	Lifetime    string `json:"lifetime,omitempty"`
	KeyRotation string `json:"key_rotation,omitempty"`
}

// Environment variables the controller reads.
const (
	EnvConfig   = "STEPUP_CONFIG"    // path of the config file
	EnvIssuer   = "STEPUP_ISSUER"    // overrides provider.issuer
	EnvClientID = "STEPUP_CLIENT_ID" // overrides provider.client_id

	// DefaultConfigPath is where the manifests mount the stepup ConfigMap.
	// A missing file there is fine (environment only); a missing file at a
	// path named by STEPUP_CONFIG is an error.
	DefaultConfigPath = "/etc/caddy-stepup/config.yaml"

	// DefaultClientSecret is the placeholder the handler resolves from the
	// pod's environment, which the manifests fill from a Secret.
	DefaultClientSecret = "{env.STEPUP_CLIENT_SECRET}"
)

// LoadConfig reads the config file named by STEPUP_CONFIG (or
// DefaultConfigPath) and applies the environment overrides.
func LoadConfig(getenv func(string) string) (*Config, error) {
	path, explicit := getenv(EnvConfig), true
	if path == "" {
		path, explicit = DefaultConfigPath, false
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && !explicit {
		data, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading step-up config: %w", err)
	}
	cfg, err := ParseConfig(data, getenv)
	if err != nil {
		return nil, fmt.Errorf("step-up config %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig parses a config document (YAML or JSON; unknown fields are
// errors), applies the environment overrides and validates the result.
func ParseConfig(data []byte, getenv func(string) string) (*Config, error) {
	cfg := new(Config)
	if len(bytes.TrimSpace(data)) > 0 {
		if err := yaml.UnmarshalStrict(data, cfg); err != nil {
			return nil, err
		}
	}
	if v := getenv(EnvIssuer); v != "" {
		cfg.Provider.Issuer = v
	}
	if v := getenv(EnvClientID); v != "" {
		cfg.Provider.ClientID = v
	}
	if cfg.Provider.ClientSecret == "" {
		cfg.Provider.ClientSecret = DefaultClientSecret
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// policy stops the controller's step-up config instead of closing routes one
// by one later.
func (c *Config) parsePolicies() error {
	c.policies = map[string]settings{}
	names := make([]string, 0, len(c.Policies))
	for name := range c.Policies {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !ruleNamePattern.MatchString(name) || name == "default" {
			return fmt.Errorf("policies: %q is not a policy name (1-64 letters, digits, '-' or '_'; not default)", name)
		}
		values := map[string]string{}
		for key, raw := range c.Policies[name] {
			v, err := scalarOrList(raw)
			if err != nil {
				return fmt.Errorf("policies %s %s: %w", name, key, err)
			}
			values[key] = v
		}
		s, problems := parseSettings(values, false)
		if len(problems) > 0 {
			return fmt.Errorf("policies %s %s: %s", name, problems[0].key, problems[0].msg)
		}
		if s.riskStepUp != nil || s.riskDeny != nil {
			if _, err := c.riskFor(s); err != nil {
				return fmt.Errorf("policies %s: %w", name, err)
			}
		}
		c.policies[name] = s
	}
	return nil
}

// scalarOrList turns a policy value into annotation syntax: strings as they
// are, numbers and booleans as written, lists of strings joined by commas.
func scalarOrList(raw json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return strings.Join(list, ","), nil
	}
	var n json.Number
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&n) == nil {
		return n.String(), nil
	}
	var b bool
	if json.Unmarshal(raw, &b) == nil {
		return fmt.Sprint(b), nil
	}
	return "", fmt.Errorf("%s is not a string, number, boolean or list of strings", raw)
}

// PolicyNames lists the configured policies, sorted.
func (c *Config) PolicyNames() []string {
	names := make([]string, 0, len(c.policies))
	for name := range c.policies {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
