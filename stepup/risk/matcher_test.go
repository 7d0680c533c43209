package risk

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func TestStepupRiskMatchesScoresAboveItsThreshold(t *testing.T) {
	m := MatchRisk{Above: 60}
	tests := []struct {
		name  string
		score any // nil: the handler set nothing
		want  bool
	}{
		{"above", 61, true},
		{"at the threshold", 60, false},
		{"below", 10, false},
		{"maximum", 100, true},
		{"not scored", nil, false},
		{"not an int", "99", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			vars := map[string]any{}
			r = r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, vars))
			if tt.score != nil {
				caddyhttp.SetVar(r.Context(), ScoreVar, tt.score)
			}
			got, err := m.MatchWithError(r)
			if err != nil || got != tt.want || m.Match(r) != tt.want {
				t.Errorf("match = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
	// No vars table at all (outside a Caddy server): no match, no panic.
	if ok, err := m.MatchWithError(httptest.NewRequest("GET", "/", nil)); ok || err != nil {
		t.Errorf("got %v, %v", ok, err)
	}
}

func TestStepupRiskCaddyfile(t *testing.T) {
	tests := []struct {
		input string
		want  int
		err   string
	}{
		{"stepup_risk 60", 60, ""},
		{"stepup_risk 0", 0, ""},
		{"stepup_risk", 0, "stepup_risk: takes one threshold score: wrong argument count or unexpected line ending after 'stepup_risk', at Testfile:1"},
		{"stepup_risk 60 70", 0, "stepup_risk: takes one threshold score: wrong argument count or unexpected line ending after '70', at Testfile:1"},
		{"stepup_risk high", 0, `stepup_risk: threshold "high" is not a whole number from 0 to 100, at Testfile:1`},
		{"stepup_risk 101", 0, `stepup_risk: threshold "101" is not a whole number from 0 to 100, at Testfile:1`},
		{"stepup_risk 60\nstepup_risk 70", 0, "stepup_risk: set once per matcher set, at Testfile:2"},
		{"stepup_risk 60 {\nabove 10\n}", 0, `stepup_risk: takes no block, found "above", at Testfile:2`},
	}
	for _, tt := range tests {
		t.Run(tt.input, func(t *testing.T) {
			var m MatchRisk
			err := m.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input))
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Errorf("error %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil || m.Above != tt.want {
				t.Errorf("got %+v, %v", m, err)
			}
		})
	}
}

func TestStepupRiskIsARegisteredMatcherModule(t *testing.T) {
	info, err := caddy.GetModule("http.matchers.stepup_risk")
	if err != nil {
		t.Fatal(err)
	}
	mod := info.New()
	if err := json.Unmarshal([]byte(`{"above": 75}`), mod); err != nil {
		t.Fatal(err)
	}
	m, ok := mod.(*MatchRisk)
	if !ok || m.Above != 75 {
		t.Fatalf("got %#v", mod)
	}
	if err := (&MatchRisk{Above: 150}).Validate(); err == nil || err.Error() != "stepup_risk above: 150 must be a score from 0 to 100" {
		t.Errorf("Validate = %v", err)
	}
	if err := m.Validate(); err != nil {
		t.Error(err)
	}
}

func TestStepupRiskAdaptsFromACaddyfileSite(t *testing.T) {
	input := ":8080 {\n\t@risky stepup_risk 60\n\trespond @risky 403\n}\n"
	out, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(input), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := `"match":[{"stepup_risk":{"above":60}}]`; !strings.Contains(string(out), want) {
		t.Errorf("adapted JSON lacks %s:\n%s", want, out)
	}
}
