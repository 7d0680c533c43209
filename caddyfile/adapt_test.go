// Package caddyfile holds the Caddyfile adapt fixtures: each *.caddyfiletest
// is a Caddyfile, a line of dashes, and either the expected JSON or, after
// "error:", the exact error adapting or validating it must produce.
package caddyfile

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-stepup/caddy-stepup"
)

// -update rewrites the expected JSON of passing-shape fixtures from the
// current output; review the diff before committing it.
var update = flag.Bool("update", false, "rewrite expected JSON in fixtures")

var separator = regexp.MustCompile(`(?m)^-{3,}\s*$`)

func TestCaddyfileFixturesAdaptAsExpected(t *testing.T) {
	files, err := filepath.Glob("testdata/*.caddyfiletest")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures found: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".caddyfiletest"), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			parts := separator.Split(string(raw), 2)
			if len(parts) != 2 {
				t.Fatalf("%s: want a Caddyfile, a line of dashes, then JSON or error:", file)
			}
			input, want := parts[0], strings.TrimSpace(parts[1])
			got, err := adaptAndValidate(input)
			if wantErr, ok := strings.CutPrefix(want, "error:"); ok {
				wantErr = strings.TrimSpace(wantErr)
				if err == nil {
					t.Fatalf("want error %q, adapted fine:\n%s", wantErr, got)
				}
				if !strings.Contains(err.Error(), wantErr) {
					t.Fatalf("want error containing\n  %s\ngot\n  %v", wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if *update {
				if err := os.WriteFile(file, []byte(strings.TrimRight(input, "\n")+"\n----------\n"+got+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != normalize(t, want) {
				t.Errorf("adapted JSON differs.\n--- got\n%s\n--- want\n%s", got, normalize(t, want))
			}
		})
	}
}

// adaptAndValidate adapts a Caddyfile and then provisions the result the way
// `caddy validate` does, so errors from Validate are covered too.
func adaptAndValidate(input string) (string, error) {
	adapter := caddyconfig.GetAdapter("caddyfile")
	out, warnings, err := adapter.Adapt([]byte(input), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		return "", err
	}
	if len(warnings) > 0 {
		return "", &warningError{warnings}
	}
	var cfg caddy.Config
	if err := json.Unmarshal(out, &cfg); err != nil {
		return "", err
	}
	if err := caddy.Validate(&cfg); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, out, "", "\t"); err != nil {
		return "", err
	}
	return buf.String(), nil
}

type warningError struct{ w []caddyconfig.Warning }

func (e *warningError) Error() string {
	var msgs []string
	for _, w := range e.w {
		msgs = append(msgs, w.String())
	}
	return "warnings: " + strings.Join(msgs, "; ")
}

func normalize(t *testing.T, s string) string {
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(s), "", "\t"); err != nil {
		t.Fatalf("fixture's expected JSON is invalid: %v", err)
	}
	return buf.String()
}
