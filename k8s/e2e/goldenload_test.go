package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-stepup/caddy-stepup/k8s/internal/controllersim"
)

func handlerNames(t *testing.T, r caddyhttp.Route) []string {
	t.Helper()
	var names []string
	for _, raw := range r.HandlersRaw {
		var h struct {
			Handler string `json:"handler"`
		}
		if err := json.Unmarshal(raw, &h); err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Handler)
	}
	return names
}

// TestGoldenRoutesLoadIntoTheCaddyBinary loads every golden route of the
// translation tests into the Caddy binary built with the stepup module.
func TestGoldenRoutesLoadIntoTheCaddyBinary(t *testing.T) {
	files, err := filepath.Glob("../translate/testdata/golden/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var g struct {
				Route caddyhttp.Route `json:"route"`
			}
			if err := json.Unmarshal(data, &g); err != nil {
				t.Fatal(err)
			}
			if err := caddyValidate(t, controllersim.Config(caddyhttp.RouteList{g.Route}, loopbackAddr(), t.TempDir())); err != nil {
				t.Fatal(err)
			}
		})
	}
}
