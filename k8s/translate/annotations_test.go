package translate

import (
	"maps"
	"reflect"
	"testing"
)

// An Ingress's own annotation replaces its policy's value for that key,
// and only for that key: every other key keeps the policy's value.
func TestAnIngressKeyOverridesItsPolicyKeyByKey(t *testing.T) {
	policy := map[string]string{
		KeyPaths: "/a/*", KeyMethods: "GET", KeyACR: "mfa", KeyAMR: "pwd", KeyMaxAge: "1m",
		KeyRiskStepUp: "10", KeyRiskDeny: "80", KeyReportOnly: "false",
	}
	ingress := map[string]string{
		KeyPaths: "/b/*", KeyMethods: "POST", KeyACR: "hwk", KeyAMR: "otp", KeyMaxAge: "2m",
		KeyRiskStepUp: "20", KeyRiskDeny: "90", KeyReportOnly: "true",
	}
	parse := func(values map[string]string) settings {
		s, problems := parseSettings(values, false)
		if len(problems) > 0 {
			t.Fatalf("%v: %v", values, problems)
		}
		return s
	}
	base := parse(policy)
	for key, v := range ingress {
		t.Run(key, func(t *testing.T) {
			want := maps.Clone(policy)
			want[key] = v
			if got := base.over(parse(map[string]string{key: v})); !reflect.DeepEqual(got, parse(want)) {
				t.Errorf("policy %v under %s=%q: got %+v, want %+v", policy, key, v, got, parse(want))
			}
		})
	}
	if got := base.over(settings{}); !reflect.DeepEqual(got, base) {
		t.Errorf("an Ingress setting nothing: got %+v, want the policy's %+v", got, base)
	}
}
