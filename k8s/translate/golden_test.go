package translate_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	networkingv1 "k8s.io/api/networking/v1"

	_ "github.com/caddy-stepup/caddy-stepup/stepup"

	"github.com/caddy-stepup/caddy-stepup/k8s/internal/controllersim"
	"github.com/caddy-stepup/caddy-stepup/k8s/translate"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current output")

type goldenCase struct {
	name        string
	annotations map[string]string
	pathType    networkingv1.PathType // default Prefix
	path        string                // default "/"
	// invalid lists the keys (without prefix; "" for the controller config)
	// the diagnostics must name. Non-nil means the route must be closed.
	invalid    []string
	translator func(t *testing.T) *translate.Translator // default: testdata/config.yaml
}

func goldenCases() []goldenCase {
	noRisk := func(t *testing.T) *translate.Translator {
		cfg, err := translate.ParseConfig([]byte("provider: {issuer: https://idp.example.com, client_id: caddy-ingress}"), noEnv)
		if err != nil {
			t.Fatal(err)
		}
		return translate.New(cfg)
	}
	return []goldenCase{
		// Valid annotations.
		{name: "not-annotated", annotations: map[string]string{"caddy.ingress.kubernetes.io/rewrite-to": "/x"}},
		{name: "rewrite-after-stepup", annotations: map[string]string{controllersim.RewriteStripPrefix: "/shop", p + "acr": "mfa"}},
		{name: "paths-acr-max-age", annotations: map[string]string{p + "paths": "/admin/*, /billing", p + "acr": "mfa", p + "max-age": "15m"}},
		{name: "methods-amr", annotations: map[string]string{p + "methods": "POST,DELETE", p + "amr": "otp"}},
		{name: "whole-ingress", annotations: map[string]string{p + "report-only": "false"}},
		{name: "report-only", annotations: map[string]string{p + "acr": "mfa", p + "report-only": "true"}},
		{name: "max-age-zero", annotations: map[string]string{p + "paths": "/transfer", p + "max-age": "0s"}},
		{name: "max-age-days", annotations: map[string]string{p + "max-age": "1d12h"}},
		{name: "policy", annotations: map[string]string{p + "policy": "admin"}},
		{name: "policy-overridden", annotations: map[string]string{p + "policy": "admin", p + "paths": "/admin/keys/*", p + "max-age": "2m"}},
		{name: "risk-thresholds", annotations: map[string]string{p + "paths": "/transfer", p + "risk-step-up": "30", p + "risk-deny": "80"}},
		{name: "risk-deny-only", annotations: map[string]string{p + "risk-deny": "70"}},
		{name: "policy-with-risk-report-only", annotations: map[string]string{p + "policy": "payments", p + "report-only": "true"}},
		{name: "exact-path", pathType: networkingv1.PathTypeExact, path: "/login", annotations: map[string]string{p + "acr": "mfa"}},
		{name: "implementation-specific-path", pathType: networkingv1.PathTypeImplementationSpecific, path: "/api/*", annotations: map[string]string{p + "methods": "POST"}},

		// Each invalid value, one at a time.
		{name: "invalid-bool-yes", annotations: map[string]string{p + "report-only": "yes"}, invalid: []string{"report-only"}},
		{name: "invalid-bool-capitalised", annotations: map[string]string{p + "report-only": "True"}, invalid: []string{"report-only"}},
		{name: "invalid-bool-empty", annotations: map[string]string{p + "report-only": ""}, invalid: []string{"report-only"}},
		{name: "invalid-duration-no-unit", annotations: map[string]string{p + "max-age": "300"}, invalid: []string{"max-age"}},
		{name: "invalid-duration-zero-no-unit", annotations: map[string]string{p + "max-age": "0"}, invalid: []string{"max-age"}},
		{name: "invalid-duration-negative", annotations: map[string]string{p + "max-age": "-5m"}, invalid: []string{"max-age"}},
		{name: "invalid-duration-words", annotations: map[string]string{p + "max-age": "ten minutes"}, invalid: []string{"max-age"}},
		{name: "invalid-paths-relative", annotations: map[string]string{p + "paths": "admin/*"}, invalid: []string{"paths"}},
		{name: "invalid-paths-empty-item", annotations: map[string]string{p + "paths": "/a,,/b"}, invalid: []string{"paths"}},
		{name: "invalid-paths-query", annotations: map[string]string{p + "paths": "/a?x=1"}, invalid: []string{"paths"}},
		{name: "invalid-paths-space", annotations: map[string]string{p + "paths": "/a b"}, invalid: []string{"paths"}},
		{name: "invalid-paths-repeated", annotations: map[string]string{p + "paths": "/a, /a"}, invalid: []string{"paths"}},
		{name: "invalid-methods-lower-case", annotations: map[string]string{p + "methods": "post"}, invalid: []string{"methods"}},
		{name: "invalid-methods-empty", annotations: map[string]string{p + "methods": ""}, invalid: []string{"methods"}},
		{name: "invalid-acr-quote", annotations: map[string]string{p + "acr": `mfa"`}, invalid: []string{"acr"}},
		{name: "invalid-amr-space", annotations: map[string]string{p + "amr": "one time"}, invalid: []string{"amr"}},
		{name: "invalid-risk-step-up-word", annotations: map[string]string{p + "risk-step-up": "high"}, invalid: []string{"risk-step-up"}},
		{name: "invalid-risk-step-up-negative", annotations: map[string]string{p + "risk-step-up": "-1"}, invalid: []string{"risk-step-up"}},
		{name: "invalid-risk-step-up-out-of-range", annotations: map[string]string{p + "risk-step-up": "100"}, invalid: []string{"risk-step-up"}},
		{name: "invalid-risk-deny-out-of-range", annotations: map[string]string{p + "risk-deny": "101"}, invalid: []string{"risk-deny"}},
		{name: "invalid-risk-deny-below-step-up", annotations: map[string]string{p + "risk-step-up": "60", p + "risk-deny": "50"}, invalid: []string{"risk-deny"}},
		{name: "invalid-risk-without-signals", annotations: map[string]string{p + "risk-step-up": "60"}, invalid: []string{"risk-step-up"}, translator: noRisk},
		{name: "invalid-unknown-key", annotations: map[string]string{p + "max_age": "5m"}, invalid: []string{"max_age"}},
		{name: "invalid-prefix-misspelt", annotations: map[string]string{"stepup.caddy-stepup.io/acr": "mfa"}, invalid: []string{"stepup.caddy-stepup.io/acr"}},
		{name: "invalid-policy-unknown", annotations: map[string]string{p + "policy": "nope"}, invalid: []string{"policy"}},
		{name: "invalid-policy-name", annotations: map[string]string{p + "policy": "two words"}, invalid: []string{"policy"}},
		{name: "invalid-several", annotations: map[string]string{p + "acr": "mfa", p + "max-age": "5", p + "report-only": "1", p + "mystery": "x"}, invalid: []string{"max-age", "mystery", "report-only"}},
		{name: "invalid-controller-config", annotations: map[string]string{p + "acr": "mfa"}, invalid: []string{""},
			translator: func(*testing.T) *translate.Translator {
				return translate.Failing(errors.New("step-up config /etc/caddy-stepup/config.yaml: provider issuer: required"))
			}},
	}
}

// TestGoldenRoutes translates each case into the route the controller would
// serve and compares it with testdata/golden/<case>.json (run with -update
// to rewrite them). Every route, valid or closed, must then load into Caddy
// with the stepup module.
func TestGoldenRoutes(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			tr := translate.New(testConfig(t))
			if tc.translator != nil {
				tr = tc.translator(t)
			}
			pathType, path := tc.pathType, tc.path
			if pathType == "" {
				pathType, path = networkingv1.PathTypePrefix, "/"
			}
			ing := testIngress(tc.annotations, pathType, path)
			route, diags := controllersim.Route(tr, ing, ing.Spec.Rules[0], ing.Spec.Rules[0].HTTP.Paths[0], controllersim.ClusterDNS)

			compareGolden(t, route, diags)
			checkShape(t, tc, route, diags)
			if err := validateInCaddy(t, route); err != nil {
				t.Fatalf("the route does not load into Caddy: %v", err)
			}
		})
	}
}

func compareGolden(t *testing.T, route caddyhttp.Route, diags []translate.Diagnostic) {
	t.Helper()
	msgs := []string{}
	for _, d := range diags {
		msgs = append(msgs, d.String())
	}
	got, err := json.MarshalIndent(map[string]any{"route": route, "diagnostics": msgs}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	file := filepath.Join("testdata", "golden", strings.ReplaceAll(t.Name(), "TestGoldenRoutes/", "")+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update and review the diff):\n got: %s", file, got)
	}
}

// checkShape asserts what the golden files show, so a careless -update
// cannot bless a wrong output.
func checkShape(t *testing.T, tc goldenCase, route caddyhttp.Route, diags []translate.Diagnostic) {
	t.Helper()
	first := handlerName(t, route.HandlersRaw[0])
	last := handlerName(t, route.HandlersRaw[len(route.HandlersRaw)-1])
	if last != "reverse_proxy" {
		t.Errorf("last handler is %q, want the reverse proxy", last)
	}
	if tc.invalid == nil {
		if len(diags) > 0 {
			t.Fatalf("unexpected diagnostics: %v", diags)
		}
		annotated := anyOurs(tc.annotations)
		switch {
		case annotated && first != "stepup":
			t.Errorf("first handler is %q, want stepup", first)
		case annotated && handlerName(t, route.HandlersRaw[1]) == "reverse_proxy" && tc.annotations[controllersim.RewriteStripPrefix] != "":
			t.Errorf("the controller's rewrite is missing after stepup: %v", route.HandlersRaw)
		case !annotated && slices.ContainsFunc(route.HandlersRaw, func(h json.RawMessage) bool {
			n := handlerName(t, h)
			return n == "stepup" || n == "static_response"
		}):
			t.Errorf("an Ingress without step-up annotations got step-up handlers: %v", route.HandlersRaw)
		}
		return
	}
	var closed struct {
		Handler    string `json:"handler"`
		StatusCode int    `json:"status_code"`
		Body       string `json:"body"`
	}
	if err := json.Unmarshal(route.HandlersRaw[0], &closed); err != nil {
		t.Fatal(err)
	}
	if closed.Handler != "static_response" || closed.StatusCode != 503 || closed.Body != translate.ClosedBody {
		t.Errorf("the route is not closed first: %s", route.HandlersRaw[0])
	}
	if slices.ContainsFunc(route.HandlersRaw, func(h json.RawMessage) bool { return handlerName(t, h) == "stepup" }) {
		t.Error("a closed route still carries a stepup handler")
	}
	var keys []string
	for _, d := range diags {
		want := ""
		if d.Key != "" {
			want = strings.TrimPrefix(d.Key, translate.Prefix)
		}
		keys = append(keys, want)
		if d.Namespace != "shop" || d.Name != "storefront" || !strings.Contains(d.String(), "ingress shop/storefront") {
			t.Errorf("diagnostic does not name the Ingress: %s", d)
		}
		if d.Key != "" && !strings.Contains(d.String(), d.Key) {
			t.Errorf("diagnostic does not name its annotation key: %s", d)
		}
	}
	if !slices.Equal(keys, tc.invalid) {
		t.Errorf("diagnostics name keys %q, want %q: %v", keys, tc.invalid, diags)
	}
}

func anyOurs(annotations map[string]string) bool {
	for k := range annotations {
		if strings.HasPrefix(k, translate.Prefix) {
			return true
		}
	}
	return false
}

// validateInCaddy provisions a config serving route in this process, with
// the stepup module compiled in (as `caddy validate` does).
func validateInCaddy(t *testing.T, route caddyhttp.Route) error {
	t.Helper()
	// Not t.TempDir: the stepup handler loads its keys in the background
	// from Provision, and that load may still write into the storage after
	// Validate returns; t.TempDir's cleanup would then fail the test.
	storage, err := os.MkdirTemp("", "stepup-golden-storage-")
	if err != nil {
		return err
	}
	t.Cleanup(func() { _ = os.RemoveAll(storage) })
	raw := controllersim.Config(caddyhttp.RouteList{route}, "127.0.0.1:0", storage)
	var cfg caddy.Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return err
	}
	return caddy.Validate(&cfg)
}
