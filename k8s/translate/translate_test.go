package translate_test

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/caddy-stepup/caddy-stepup/k8s/internal/controllersim"
	"github.com/caddy-stepup/caddy-stepup/k8s/translate"
)

func noEnv(string) string { return "" }

func testConfig(t *testing.T) *translate.Config {
	t.Helper()
	data, err := os.ReadFile("testdata/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := translate.ParseConfig(data, noEnv)
	if err != nil {
		t.Fatalf("testdata/config.yaml: %v", err)
	}
	return cfg
}

// testIngress is shop/storefront, routing shop.example.com<path> to web:8080.
func testIngress(annotations map[string]string, pathType networkingv1.PathType, path string) *networkingv1.Ingress {
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "storefront", Annotations: annotations},
		Spec: networkingv1.IngressSpec{Rules: []networkingv1.IngressRule{{
			Host: "shop.example.com",
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{
					Path: path, PathType: &pathType,
					Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
						Name: "web", Port: networkingv1.ServiceBackendPort{Number: 8080},
					}},
				}},
			}},
		}}},
	}
}

const p = translate.Prefix

func handlerName(t *testing.T, raw json.RawMessage) string {
	t.Helper()
	var h struct {
		Handler string `json:"handler"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return h.Handler
}

// TestTranslationIsDeterministic: the controller compares configs, so the
// same Ingress must always give byte-identical JSON.
func TestTranslationIsDeterministic(t *testing.T) {
	tr := translate.New(testConfig(t))
	ann := map[string]string{p + "policy": "payments", p + "paths": "/a,/b", p + "acr": "hwk,mfa", p + "risk-deny": "95"}
	var first []byte
	for i := range 20 {
		ing := testIngress(ann, networkingv1.PathTypePrefix, "/")
		route, _ := controllersim.Route(tr, ing, ing.Spec.Rules[0], ing.Spec.Rules[0].HTTP.Paths[0], controllersim.ClusterDNS)
		b, _ := json.Marshal(route)
		if i == 0 {
			first = b
		} else if !bytes.Equal(b, first) {
			t.Fatalf("translation %d differs:\n%s\n%s", i, first, b)
		}
	}
}
