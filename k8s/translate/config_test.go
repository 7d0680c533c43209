package translate_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddy-stepup/caddy-stepup/k8s/translate"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigRejectsWhatWouldNotLoadOrLeakASecret(t *testing.T) {
	const provider = "provider: {issuer: https://idp.example.com, client_id: c}\n"
	for _, tc := range []struct {
		name, doc, wantErr string
	}{
		{"a literal client secret", "provider: {issuer: https://idp.example.com, client_id: c, client_secret: hunter2}", "environment placeholder"},
		{"a file placeholder for the secret", "provider: {issuer: https://idp.example.com, client_id: c, client_secret: '{file./s}'}", "environment placeholder"},
		{"no issuer", "provider: {client_id: c}", "provider issuer: required"},
		{"a plain-HTTP issuer", "provider: {issuer: http://idp.example.com, client_id: c}", "must use https"},
		{"a plain-HTTP loopback issuer without the insecure knob", "provider: {issuer: http://127.0.0.1:4444, client_id: c}", "must use https"},
		{"no client id", "provider: {issuer: https://idp.example.com}", "client_id: required"},
		{"an unknown field", provider + "reqire_login: all", "unknown field"},
		{"a repeated acr level", provider + "acr_levels: [mfa, mfa]", "acr_levels"},
		{"a session lifetime above 30 days", provider + "session: {lifetime: 31d}", "session lifetime"},
		{"a session lifetime without unit", provider + "session: {lifetime: 3600}", "session lifetime"},
		{"a key rotation under a minute", provider + "session: {key_rotation: 30s}", "key_rotation"},
		{"a bad cookie name", provider + "session: {cookie_name: 'a b'}", "cookie_name"},
		{"a bad upstream header name", provider + "upstream_headers: {'X User': x}", "upstream_headers"},
		{"an off-site post-logout redirect", provider + "post_logout_redirect: //evil.example", "post_logout_redirect"},
		{"a risk block without signals", provider + "risk: {step_up: 40}", "no signal"},
		{"a risk block with an unknown field", provider + "risk: {new_device: {}, stepup: 40}", "unknown field"},
		{"a risk block with bad thresholds", provider + "risk: {new_device: {}, step_up: 95, deny: 90}", "risk deny"},
		{"a policy with a bad value", provider + "policies: {admin: {max-age: '10'}}", "policies admin max-age"},
		{"a policy with an unknown key", provider + "policies: {admin: {max_age: 10m}}", "policies admin max_age"},
		{"a policy naming a policy", provider + "policies: {admin: {policy: other}}", "policies admin policy"},
		{"a policy with a bad name", provider + "policies: {'a b': {acr: mfa}}", "policy name"},
		{"a policy called default", provider + "policies: {default: {acr: mfa}}", "policy name"},
		{"a policy with risk but no risk block", provider + "policies: {pay: {risk-step-up: 40}}", "no risk block"},
		{"a policy with an object value", provider + "policies: {pay: {acr: {a: b}}}", "not a string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := translate.ParseConfig([]byte(tc.doc), noEnv)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got error %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestConfigTakesIssuerAndClientIDFromTheEnvironment(t *testing.T) {
	cfg, err := translate.ParseConfig([]byte("provider: {issuer: https://old.example, client_id: old}"),
		envOf(map[string]string{translate.EnvIssuer: "https://idp.example.com/realms/x", translate.EnvClientID: "caddy"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Provider.Issuer != "https://idp.example.com/realms/x" || cfg.Provider.ClientID != "caddy" {
		t.Errorf("provider = %+v", cfg.Provider)
	}
	if cfg.Provider.ClientSecret != translate.DefaultClientSecret {
		t.Errorf("client_secret = %q, want the default placeholder", cfg.Provider.ClientSecret)
	}
}

func TestConfigPolicyValuesMayBeYAMLScalarsAndLists(t *testing.T) {
	cfg, err := translate.ParseConfig([]byte(`
provider: {issuer: https://idp.example.com, client_id: c}
risk: {new_device: {}}
policies:
  p: {paths: [/a, /b], methods: POST, risk-step-up: 40, report-only: true, max-age: 0s}
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.PolicyNames(); len(got) != 1 || got[0] != "p" {
		t.Errorf("policies = %v", got)
	}
}

func TestLoadConfigFileLocation(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(file, []byte("provider: {issuer: https://idp.example.com}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("the file named by STEPUP_CONFIG is read and the environment completes it", func(t *testing.T) {
		cfg, err := translate.LoadConfig(envOf(map[string]string{translate.EnvConfig: file, translate.EnvClientID: "c"}))
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Provider.Issuer != "https://idp.example.com" || cfg.Provider.ClientID != "c" {
			t.Errorf("provider = %+v", cfg.Provider)
		}
	})
	t.Run("a missing file named by STEPUP_CONFIG is an error", func(t *testing.T) {
		_, err := translate.LoadConfig(envOf(map[string]string{translate.EnvConfig: filepath.Join(dir, "nope.yaml"),
			translate.EnvIssuer: "https://idp.example.com", translate.EnvClientID: "c"}))
		if err == nil {
			t.Fatal("no error")
		}
	})
	t.Run("errors name the file", func(t *testing.T) {
		_, err := translate.LoadConfig(envOf(map[string]string{translate.EnvConfig: file}))
		if err == nil || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), "client_id") {
			t.Fatalf("error %v does not name the file and the field", err)
		}
	})
}
