package provider

import (
	"fmt"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/fuzzseeds"
)

// FuzzParseLogoutClaims feeds arbitrary claim sets to the logout token
// parser: it must never panic, and whatever it accepts must satisfy the
// specification's requirements. Seeds: logoutClaimsSeeds.
func FuzzParseLogoutClaims(f *testing.F) {
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := parseLogoutClaims(payload)
		if err != nil {
			return
		}
		if c.JTI == "" || (c.Subject == "" && c.SID == "") || c.Issued.IsZero() {
			t.Fatalf("accepted incomplete claims %+v from %q", c, payload)
		}
		if len(c.JTI) > maxClaimLen || len(c.Subject) > maxClaimLen || len(c.SID) > maxClaimLen {
			t.Fatalf("accepted oversized claims from %q", payload)
		}
		_ = c.Current(time.Unix(1_800_000_000, 0))
	})
}

func logoutClaimsSeeds(*testing.T) []fuzzseeds.Seed {
	valid := []string{
		`{"iss":"https://op","aud":"edge","iat":1800000000,"jti":"j1","sid":"s1","events":{"http://schemas.openid.net/event/backchannel-logout":{}}}`,
		`{"iat":1800000000.5,"exp":1800000060,"jti":"j","sub":"alice","events":{"http://schemas.openid.net/event/backchannel-logout":{}}}`,
	}
	invalid := []string{
		`{"iat":1800000000,"jti":"j","sub":"a","nonce":"n","events":{"http://schemas.openid.net/event/backchannel-logout":{}}}`,
		`{"iat":"1800000000","jti":"j","sub":"a","events":{"http://schemas.openid.net/event/backchannel-logout":[]}}`,
		`{"events":null}`, `[]`, `null`, ``, `{"iat":1e400}`,
	}
	var seeds []fuzzseeds.Seed
	for i, v := range valid {
		seeds = append(seeds, fuzzseeds.Seed{Name: fmt.Sprintf("valid-%d", i), Args: []any{[]byte(v)}})
	}
	for i, v := range invalid {
		seeds = append(seeds, fuzzseeds.Seed{Name: fmt.Sprintf("invalid-%d", i), Args: []any{[]byte(v)}})
	}
	return seeds
}

func logoutClaimsAccepts(_ *testing.T, args []any) bool {
	_, err := parseLogoutClaims(args[0].([]byte))
	return err == nil
}

// The committed seed corpora (testdata/fuzz/<FuzzName>/) are kept by
// internal/fuzzseeds; regenerate the seed-* files with
//
//	go test ./stepup/provider -run TestFuzzSeedCorpora -write-fuzz-seeds
func TestFuzzSeedCorporaAreCommittedAndValidSeedsStillPass(t *testing.T) {
	fuzzseeds.Check(t, "./stepup/provider", map[string]fuzzseeds.Corpus{
		"FuzzParseLogoutClaims": {Seeds: logoutClaimsSeeds, Accepts: logoutClaimsAccepts},
	})
}
