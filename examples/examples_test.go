// Package examples keeps every example Caddyfile honest: each adapts,
// validates (modules provisioned as `caddy validate` does), and matches the
// caddy.json committed beside it, so neither form can rot.
package examples

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-stepup/caddy-stepup"
)

var update = flag.Bool("update", false, "rewrite each example's caddy.json from its Caddyfile")

func TestEveryExampleAdaptsValidatesAndMatchesItsJSON(t *testing.T) {
	files, _ := filepath.Glob("*/Caddyfile")
	if len(files) < 4 {
		t.Fatalf("found %d example Caddyfiles, expected at least 4", len(files))
	}
	for _, file := range files {
		dir := filepath.Dir(file)
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			continue // a runnable program (the demo) with its own tests
		}
		t.Run(dir, func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			out, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(src, map[string]any{"filename": file})
			if err != nil {
				t.Fatalf("adapt: %v", err)
			}
			if len(warnings) > 0 {
				t.Fatalf("adapt warnings: %v", warnings)
			}
			var cfg caddy.Config
			if err := json.Unmarshal(out, &cfg); err != nil {
				t.Fatal(err)
			}
			if err := caddy.Validate(&cfg); err != nil {
				t.Fatalf("validate: %v", err)
			}
			var pretty bytes.Buffer
			_ = json.Indent(&pretty, out, "", "\t")
			pretty.WriteByte('\n')
			jsonFile := filepath.Join(dir, "caddy.json")
			if *update {
				if err := os.WriteFile(jsonFile, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(jsonFile)
			if err != nil {
				t.Fatalf("%v (run go test ./examples -update to create it)", err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Fatalf("%s no longer matches its Caddyfile; run go test ./examples -update and review the diff", jsonFile)
			}
		})
	}
}
