package risk

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

// A MaxMind database that does not load at start would, failing closed,
// score every request (with a deny list: refuse everyone). Unless the block
// says optional, New refuses the config, naming the directive and the fix.
func TestADatabaseThatDoesNotLoadFailsTheConfigUnlessOptional(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "GeoLite2-City.mmdb")
	corrupt := filepath.Join(dir, "corrupt.mmdb")
	if err := os.WriteFile(corrupt, []byte("not a MaxMind database"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		cfg     LocationConfig
		wantErr string
	}{
		{"missing country_db", LocationConfig{CountryDB: missing, DenyCountries: []string{"KP"}}, `stepup: risk location country_db: "` + missing + `" did not load`},
		{"missing asn_db", LocationConfig{ASNDB: missing, ASNChange: 10}, `stepup: risk location asn_db: "` + missing + `" did not load`},
		{"corrupt country_db", LocationConfig{CountryDB: corrupt, CountryChange: 10}, "location country_db"},
		{"missing but optional", LocationConfig{CountryDB: missing, CountryChange: 10, Optional: true}, ""},
		{"missing, optional and failing open", LocationConfig{CountryDB: missing, CountryChange: 10, Optional: true, FailOpen: true}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			cfg := tc.cfg
			e, err := New(ctx, &Config{Location: &cfg}, zap.NewNop(), fixedNow)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				e.Close()
				return
			}
			if err == nil {
				e.Close()
				t.Fatalf("loaded, want an error containing %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "add optional") {
				t.Fatalf("error %q, want it to contain %q and the fix", err, tc.wantErr)
			}
		})
	}
}
