package provider

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// FuzzParseLogoutClaims feeds arbitrary claim sets to the logout token
// parser: it must never panic, and whatever it accepts must satisfy the
// specification's requirements. Seeds: logoutClaimsSeeds, committed under
// testdata/fuzz/FuzzParseLogoutClaims.
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

// logoutClaimsSeeds are the generated seeds: file name after "seed-", and
// the payload. Valid ones must be accepted by the parser.
var logoutClaimsSeeds = func() map[string]string {
	valid := []string{
		`{"iss":"https://op","aud":"edge","iat":1800000000,"jti":"j1","sid":"s1","events":{"http://schemas.openid.net/event/backchannel-logout":{}}}`,
		`{"iat":1800000000.5,"exp":1800000060,"jti":"j","sub":"alice","events":{"http://schemas.openid.net/event/backchannel-logout":{}}}`,
	}
	invalid := []string{
		`{"iat":1800000000,"jti":"j","sub":"a","nonce":"n","events":{"http://schemas.openid.net/event/backchannel-logout":{}}}`,
		`{"iat":"1800000000","jti":"j","sub":"a","events":{"http://schemas.openid.net/event/backchannel-logout":[]}}`,
		`{"events":null}`, `[]`, `null`, ``, `{"iat":1e400}`,
	}
	seeds := map[string]string{}
	for i, v := range valid {
		seeds[fmt.Sprintf("valid-%d", i)] = v
	}
	for i, v := range invalid {
		seeds[fmt.Sprintf("invalid-%d", i)] = v
	}
	return seeds
}()

// The committed corpus holds exactly the generated seeds, in the fuzzing
// engine's file format, and the valid ones still parse: a change of the
// parser cannot silently turn them into inputs refused at the first byte.
func TestLogoutClaimsSeedCorpusIsCommittedAndValidSeedsStillParse(t *testing.T) {
	for name, payload := range logoutClaimsSeeds {
		file := filepath.Join("testdata", "fuzz", "FuzzParseLogoutClaims", "seed-"+name)
		got, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if want := "go test fuzz v1\n[]byte(" + strconv.Quote(payload) + ")\n"; string(got) != want {
			t.Errorf("%s is not the seed %q", file, payload)
		}
		if _, err := parseLogoutClaims([]byte(payload)); (err == nil) != (name[:5] == "valid") {
			t.Errorf("seed %s: parse error %v", name, err)
		}
	}
}
