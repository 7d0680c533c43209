package hydra

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// memoryDSN is an in-memory SQLite database. Hydra recognises it as
// in-memory (ory/x dbal.IsMemorySQLite) and therefore runs its SQL
// migrations on every start; cache=shared lets Hydra's connection pool share
// the one database. It lives and dies with the process, so Restart loses
// all state.
const memoryDSN = "sqlite://file:memdb?mode=memory&cache=shared&_fk=true"

// topLevelClaims are the access-token extras Hydra may lift to top-level JWT
// claims (oauth2.allowed_top_level_claims). Without this Hydra only puts
// consent extras under "ext", where resource servers don't look for acr.
var topLevelClaims = []string{"acr", "amr", "auth_time"}

// hydraConfig is everything that varies between Hydra processes.
type hydraConfig struct {
	issuer     string
	publicPort int
	adminPort  int
	appURL     string // base URL of the harness's login & consent app
	secret     string
	opts       Options
}

// write renders the config as JSON (Hydra reads .json config files, which
// spares us a YAML dependency) and returns the file's path.
func (c hydraConfig) write(dir string) (string, error) {
	ttl := map[string]any{}
	for key, d := range map[string]time.Duration{
		"access_token":  c.opts.AccessTokenTTL,
		"id_token":      c.opts.IDTokenTTL,
		"refresh_token": c.opts.RefreshTokenTTL,
	} {
		if d > 0 {
			ttl[key] = d.String()
		}
	}
	logLevel := c.opts.LogLevel
	if logLevel == "" {
		logLevel = "info"
	}
	cfg := map[string]any{
		"dsn": memoryDSN,
		"serve": map[string]any{
			"public": map[string]any{
				"host":        "127.0.0.1",
				"port":        c.publicPort,
				"request_log": map[string]any{"disable_for_health": true},
			},
			"admin": map[string]any{
				"host":        "127.0.0.1",
				"port":        c.adminPort,
				"request_log": map[string]any{"disable_for_health": true},
			},
			// Plain-HTTP loopback: SameSite=None would need Secure.
			"cookies": map[string]any{"same_site_mode": "Lax"},
		},
		"urls": map[string]any{
			"self":    map[string]any{"issuer": c.issuer},
			"login":   c.appURL + "/login",
			"consent": c.appURL + "/consent",
			"logout":  c.appURL + "/logout",
		},
		"secrets": map[string]any{"system": []string{c.secret}},
		"strategies": map[string]any{
			"access_token": "jwt",
		},
		"oauth2": map[string]any{
			"allowed_top_level_claims": topLevelClaims,
			// Keep the claims only at the top level, not also under "ext".
			"mirror_top_level_claims": false,
			"expose_internal_errors":  true,
		},
		"webfinger": map[string]any{
			"oidc_discovery": map[string]any{
				"supported_claims": []string{"sub", "acr", "amr", "auth_time"},
			},
		},
		"log": map[string]any{
			"level":                 logLevel,
			"format":                "text",
			"leak_sensitive_values": true, // test-only secrets; helps debugging
		},
		// No telemetry: the tests must not talk to anything off loopback.
		"sqa": map[string]any{"opt_out": true},
	}
	if len(ttl) > 0 {
		cfg["ttl"] = ttl
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "hydra.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		return "", fmt.Errorf("write hydra config: %w", err)
	}
	return path, nil
}
