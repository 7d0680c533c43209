package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/caddyproc"
)

// `caddy validate` with the built binary refuses a risk block whose MaxMind
// database does not load, naming the directive and the fix, and accepts it
// once the block is marked optional (a database written later).
func TestCaddyValidateRefusesAMaxMindDatabaseThatDoesNotLoad(t *testing.T) {
	bin := caddyproc.Binary(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "GeoLite2-City.mmdb")
	validate := func(optional string) (string, error) {
		cfg := filepath.Join(dir, "Caddyfile")
		site := `{
	admin off
}
https://app.example.com {
	stepup {
		issuer https://idp.example.com
		client_id caddy
		risk {
			location {
				country_db ` + missing + `
				deny_countries KP
				` + optional + `
			}
		}
	}
	respond "ok"
}
`
		if err := os.WriteFile(cfg, []byte(site), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "validate", "--config", cfg, "--adapter", "caddyfile")
		cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := validate("")
	if err == nil {
		t.Fatalf("caddy validate accepted a missing country_db:\n%s", tail(out, 10))
	}
	// The message is in a JSON log line, its quotes escaped.
	for _, want := range []string{"stepup: risk location country_db: ", missing, "did not load", "add optional to the block"} {
		if !strings.Contains(out, want) {
			t.Fatalf("caddy validate said:\n%s\nwant it to contain %q", tail(out, 3), want)
		}
	}
	if out, err := validate("optional"); err != nil {
		t.Fatalf("caddy validate refused an optional database: %v\n%s", err, tail(out, 10))
	}
}
