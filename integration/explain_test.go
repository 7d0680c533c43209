package integration

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/caddyproc"
)

// The built binary's `caddy stepup-explain` runs a request through the
// config's own routes and logs its warnings as single production lines: the
// old one printed Caddy's development logger, a stack trace per warning.
func TestExplainCommandOfTheBuiltBinary(t *testing.T) {
	bin := caddyproc.Binary(t)
	dir := t.TempDir()
	config := filepath.Join(dir, "Caddyfile")
	site := `{
	admin off
}
http://127.0.0.1:8080 {
	handle /public/* {
		respond "public"
	}
	handle {
` + errorPagesSite(t, "") + `
	}
}
`
	if err := os.WriteFile(config, []byte(site), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (map[string]any, string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"stepup-explain", "--config", config, "--json", "--ip", "127.0.0.1"}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("stepup-explain %v: %v\n%s", args, err, stderr.String())
		}
		var out map[string]any
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			t.Fatalf("stepup-explain %v printed %q: %v", args, stdout.String(), err)
		}
		return out, stderr.String()
	}

	public, _ := run("--url", "http://127.0.0.1:8080/public/x")
	if public["verdict"] != "no_stepup" || public["body"] != "public" {
		t.Errorf("/public/x is the first handle's: %v", public)
	}
	vault, logged := run("--url", "http://127.0.0.1:8080/vault")
	if vault["verdict"] != "denied" || vault["status"] != float64(403) {
		t.Errorf("/vault from a blocklisted address: %v", vault)
	}
	if !strings.Contains(logged, "INSECURE: insecure_loopback_http") {
		t.Errorf("the provisioning warning is missing from stderr:\n%s", logged)
	}
	for _, line := range strings.Split(strings.TrimSpace(logged), "\n") {
		if strings.Contains(line, ".go:") || strings.HasPrefix(line, "\t") {
			t.Errorf("a stack trace or caller line on stderr: %q", line)
		}
	}
}
