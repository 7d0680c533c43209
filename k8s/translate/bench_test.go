package translate_test

import (
	"encoding/json"
	"fmt"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/caddy-stepup/caddy-stepup/internal/cputime"
	"github.com/caddy-stepup/caddy-stepup/k8s/internal/controllersim"
	"github.com/caddy-stepup/caddy-stepup/k8s/translate"
)

// benchIngresses are n Ingresses, each its own host with one Prefix path;
// annotated ones each carry their own step-up rule (paths, acr, max-age).
func benchIngresses(n int, annotated bool) []*networkingv1.Ingress {
	out := make([]*networkingv1.Ingress, n)
	for i := range out {
		ann := map[string]string{}
		if annotated {
			ann[p+"paths"] = fmt.Sprintf("/admin%d/*", i)
			ann[p+"acr"] = "mfa"
			ann[p+"max-age"] = "15m"
		}
		ing := testIngress(ann, networkingv1.PathTypePrefix, "/")
		ing.Name = fmt.Sprintf("site-%d", i)
		ing.Spec.Rules[0].Host = fmt.Sprintf("site-%d.example.com", i)
		out[i] = ing
	}
	return out
}

// BenchmarkTranslateIngresses measures one conversion of N Ingresses as
// the controller does it on every sync (issue 19, item 1): every route of
// every Ingress built through the controller's plugins, the smart sort, the
// adapter's guard hook, and the routes encoded as the JSON Caddy loads
// (controllersim models the controller's part). `plain` is the same
// Ingresses without step-up annotations, so its figure is the controller's
// own cost and the ratio is what the adapter adds. cpu-ns/op is the
// process's CPU time per conversion, which waiting for a core on a shared
// machine does not inflate (GC workers included).
func BenchmarkTranslateIngresses(b *testing.B) {
	tr := translate.New(testConfig(&testing.T{}))
	for _, n := range []int{1, 100, 1000, 5000} {
		for _, variant := range []struct {
			name      string
			annotated bool
		}{{"plain", false}, {"stepup", true}} {
			ings := benchIngresses(n, variant.annotated)
			b.Run(fmt.Sprintf("ingresses=%d/%s", n, variant.name), func(b *testing.B) {
				b.ReportAllocs()
				cpu := cputime.Process()
				for b.Loop() {
					routes, diags := controllersim.Convert(tr, ings, controllersim.Options{SmartSort: true})
					if len(diags) != 0 {
						b.Fatal(diags)
					}
					if _, err := json.Marshal(routes); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cputime.Process()-cpu)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}
