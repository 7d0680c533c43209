package translate

import (
	"strings"
	"testing"
)

// FuzzParseSettings: any annotation value under our prefix either parses
// into a setting or is reported as a problem naming its key, never both
// silently and never a panic; a reported problem always names a key that
// was given.
func FuzzParseSettings(f *testing.F) {
	for _, seed := range [][2]string{
		{KeyPaths, "/admin/*,/billing*"}, {KeyMethods, "POST,PUT"}, {KeyACR, "urn:mfa"},
		{KeyMaxAge, "15m"}, {KeyMaxAge, "300"}, {KeyMaxAge, "0s"}, {KeyRiskStepUp, "50"},
		{KeyRiskDeny, "101"}, {KeyReportOnly, "yes"}, {KeyReportOnly, "true"}, {KeyPolicy, "admin"},
		{"unknown-key", "x"}, {KeyPaths, "/a\n/b"}, {KeyAMR, `otp,"x"`},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, key, value string) {
		s, problems := parseSettings(map[string]string{key: value}, true)
		for _, p := range problems {
			if p.key != key || p.msg == "" {
				t.Fatalf("problem %+v for key %q", p, key)
			}
		}
		if len(problems) > 0 {
			return
		}
		for _, v := range append(append(append(append([]string{}, s.paths...), s.methods...), s.acr...), s.amr...) {
			if v == "" || strings.ContainsAny(v, " \t\r\n,") {
				t.Fatalf("accepted list value %q from %q=%q", v, key, value)
			}
		}
		if s.maxAge != nil && *s.maxAge < 0 {
			t.Fatalf("accepted a negative max-age from %q", value)
		}
		// Scores are range-checked later, against the risk block they
		// land in; here they must at least be plain non-negative numbers.
		for _, n := range []*int{s.riskStepUp, s.riskDeny} {
			if n != nil && (*n < 0 || *n > 999) {
				t.Fatalf("accepted score %d from %q", *n, value)
			}
		}
	})
}
