package translate_test

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/caddy-stepup/caddy-stepup/stepup"

	"github.com/caddy-stepup/caddy-stepup/k8s/internal/controllersim"
	"github.com/caddy-stepup/caddy-stepup/k8s/translate"
)

// roundTrip is one annotation value and what the handler must hold for it.
type roundTrip struct {
	key, value string
	check      func(t *testing.T, h *stepup.Handler)
}

func roundTrips() []roundTrip {
	rule := func(t *testing.T, h *stepup.Handler) *stepup.Rule {
		t.Helper()
		if len(h.Rules) != 1 {
			t.Fatalf("%d rules, want 1", len(h.Rules))
		}
		return h.Rules[0]
	}
	matcher := func(t *testing.T, h *stepup.Handler, name string) []string {
		t.Helper()
		sets := rule(t, h).MatcherSetsRaw
		if len(sets) != 1 {
			t.Fatalf("rule matcher sets %v, want one", sets)
		}
		var v []string
		if raw, ok := sets[0][name]; ok {
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
		}
		return v
	}
	want := func(t *testing.T, what string, got, want any) {
		t.Helper()
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if !bytes.Equal(g, w) {
			t.Errorf("%s = %s, want %s", what, g, w)
		}
	}
	maxAge := func(t *testing.T, d *caddy.Duration, w time.Duration) {
		t.Helper()
		if d == nil || time.Duration(*d) != w {
			t.Errorf("max_age = %v, want %s (set, not absent)", d, w)
		}
	}
	return []roundTrip{
		{translate.KeyPolicy, "admin", func(t *testing.T, h *stepup.Handler) {
			r := rule(t, h)
			want(t, "rule name", r.Name, "admin")
			want(t, "policy paths", matcher(t, h, "path"), []string{"/admin/*"})
			want(t, "policy acr", r.ACR, []string{"mfa"})
			maxAge(t, r.MaxAge, 10*time.Minute)
		}},
		{translate.KeyPaths, "/admin/*, /billing", func(t *testing.T, h *stepup.Handler) {
			want(t, "path matcher", matcher(t, h, "path"), []string{"/admin/*", "/billing"})
			want(t, "method matcher", matcher(t, h, "method"), nil)
		}},
		{translate.KeyMethods, "POST,DELETE", func(t *testing.T, h *stepup.Handler) {
			want(t, "method matcher", matcher(t, h, "method"), []string{"POST", "DELETE"})
		}},
		{translate.KeyACR, "mfa,hwk", func(t *testing.T, h *stepup.Handler) {
			want(t, "acr", rule(t, h).ACR, []string{"mfa", "hwk"})
			want(t, "rule name", rule(t, h).Name, "ingress")
		}},
		{translate.KeyAMR, "otp", func(t *testing.T, h *stepup.Handler) {
			want(t, "amr", rule(t, h).AMR, []string{"otp"})
		}},
		{translate.KeyMaxAge, "1h30m", func(t *testing.T, h *stepup.Handler) {
			maxAge(t, rule(t, h).MaxAge, 90*time.Minute)
		}},
		{translate.KeyMaxAge, "0s", func(t *testing.T, h *stepup.Handler) {
			maxAge(t, rule(t, h).MaxAge, 0)
		}},
		{translate.KeyRiskStepUp, "30", func(t *testing.T, h *stepup.Handler) {
			if h.Risk == nil {
				t.Fatal("no risk block")
			}
			want(t, "risk step_up", h.Risk.StepUp, 30)
			want(t, "risk deny", h.Risk.Deny, 0)
			want(t, "risk acr (controller)", h.Risk.ACR, []string{"hwk"})
			maxAge(t, h.Risk.MaxAge, 5*time.Minute)
			if h.Risk.NewDevice == nil || h.Risk.NewDevice.Weight != 60 {
				t.Errorf("risk new_device = %+v, want the controller's weight 60", h.Risk.NewDevice)
			}
		}},
		{translate.KeyRiskDeny, "80", func(t *testing.T, h *stepup.Handler) {
			if h.Risk == nil {
				t.Fatal("no risk block")
			}
			want(t, "risk deny", h.Risk.Deny, 80)
		}},
		{translate.KeyReportOnly, "true", func(t *testing.T, h *stepup.Handler) {
			want(t, "report_only", h.ReportOnly, true)
		}},
		{translate.KeyReportOnly, "false", func(t *testing.T, h *stepup.Handler) {
			want(t, "report_only", h.ReportOnly, false)
			want(t, "risk", h.Risk, (*struct{})(nil))
		}},
	}
}

// TestEveryAnnotationRoundTripsIntoAHandlerCaddyProvisions translates an
// Ingress with each annotation, decodes the stepup handler it produced into
// the handler's own type as Caddy does (unknown or mistyped fields are
// errors), checks that the annotation's value and the controller's settings
// are there, and has Caddy provision and validate that handler.
func TestEveryAnnotationRoundTripsIntoAHandlerCaddyProvisions(t *testing.T) {
	tr := translate.New(testConfig(t))
	for _, rt := range roundTrips() {
		t.Run(rt.key+"="+rt.value, func(t *testing.T) {
			ing := testIngress(map[string]string{p + rt.key: rt.value}, networkingv1.PathTypePrefix, "/")
			route, diags := controllersim.Route(tr, ing, ing.Spec.Rules[0], ing.Spec.Rules[0].HTTP.Paths[0], controllersim.ClusterDNS)
			if len(diags) != 0 {
				t.Fatalf("diagnostics: %v", diags)
			}
			raw := stepupModule(t, route)
			var h stepup.Handler
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&h); err != nil {
				t.Fatalf("the handler's own type does not decode the output: %v\n%s", err, raw)
			}
			rt.check(t, &h)
			checkControllerSettings(t, &h)

			provisioned := provisionStepup(t, raw)
			rt.check(t, withRulesOf(provisioned, &h))
			checkControllerSettings(t, provisioned)
		})
	}
}

// TestEveryKeyHasARoundTripCase keeps the round-trip table complete.
func TestEveryKeyHasARoundTripCase(t *testing.T) {
	for _, k := range translate.Keys() {
		if !slices.ContainsFunc(roundTrips(), func(rt roundTrip) bool { return rt.key == k }) {
			t.Errorf("no round-trip case for %s%s", translate.Prefix, k)
		}
	}
}

// checkControllerSettings: what testdata/config.yaml sets reaches every
// handler.
func checkControllerSettings(t *testing.T, h *stepup.Handler) {
	t.Helper()
	pc := h.Provider
	if pc.Issuer != "https://idp.example.com" || pc.ClientID != "caddy-ingress" || pc.ClientSecret != translate.DefaultClientSecret || !slices.Equal(pc.Scopes, []string{"profile"}) {
		t.Errorf("provider = %+v, want the controller's", pc)
	}
	if !slices.Equal(h.ACRLevels, []string{"pwd", "mfa", "hwk"}) {
		t.Errorf("acr_levels = %v", h.ACRLevels)
	}
	if h.Session == nil || time.Duration(h.Session.Lifetime) != 8*time.Hour {
		t.Errorf("session = %+v, want lifetime 8h", h.Session)
	}
	if h.UpstreamHeaders["X-Auth-User"] != "{http.auth.user.id}" {
		t.Errorf("upstream_headers = %v", h.UpstreamHeaders)
	}
	callback, login, logout := translate.Endpoints("shop", "storefront")
	if h.CallbackPath != callback || h.LoginPath != login || h.LogoutPath != logout {
		t.Errorf("endpoints %s %s %s, want the Ingress's", h.CallbackPath, h.LoginPath, h.LogoutPath)
	}
}

// withRulesOf returns provisioned with the rules' matcher JSON of decoded:
// Caddy clears a module's raw JSON once it has loaded it, so the
// provisioned rules no longer hold their matchers as JSON.
func withRulesOf(provisioned, decoded *stepup.Handler) *stepup.Handler {
	for i, r := range provisioned.Rules {
		if r.MatcherSetsRaw == nil && i < len(decoded.Rules) {
			r.MatcherSetsRaw = decoded.Rules[i].MatcherSetsRaw
		}
	}
	return provisioned
}

// stepupModule is the stepup handler of route without its "handler" key:
// the module's own JSON, as Caddy hands it to the module.
func stepupModule(t *testing.T, route caddyhttp.Route) json.RawMessage {
	t.Helper()
	for _, raw := range route.HandlersRaw {
		if handlerName(t, raw) != "stepup" {
			continue
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			t.Fatal(err)
		}
		delete(fields, "handler")
		out, err := json.Marshal(fields)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	t.Fatal("no stepup handler in the route")
	return nil
}

// provisionStepup has Caddy load the handler module from raw as it loads a
// config (strict decoding, Provision, Validate) in a context with a file
// storage of its own, and returns it.
func provisionStepup(t *testing.T, raw json.RawMessage) *stepup.Handler {
	t.Helper()
	// Not t.TempDir: see validateInCaddy.
	storage, err := os.MkdirTemp("", "stepup-roundtrip-storage-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(storage) })
	root, _ := json.Marshal(storage)
	var cfg caddy.Config
	if err := json.Unmarshal([]byte(`{"admin":{"disabled":true},"storage":{"module":"file_system","root":`+string(root)+`}}`), &cfg); err != nil {
		t.Fatal(err)
	}
	ctx, err := caddy.ProvisionContext(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	mod, err := ctx.LoadModuleByID("http.handlers.stepup", raw)
	if err != nil {
		t.Fatalf("Caddy does not provision the handler: %v\n%s", err, raw)
	}
	h := mod.(*stepup.Handler)
	t.Cleanup(func() { _ = h.Cleanup() })
	return h
}
