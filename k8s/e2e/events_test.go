package e2e

import (
	"strings"
	"testing"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/caddy-stepup/caddy-stepup/k8s/events"
	"github.com/caddy-stepup/caddy-stepup/k8s/internal/controllersim"
	"github.com/caddy-stepup/caddy-stepup/k8s/translate"
)

// TestBadAnnotationsBecomeOneWarningEventOnTheIngress reports the broken
// Ingress's diagnostics as the controller does, from two replicas and over
// repeated conversions, with the controller's own service account (so its
// RBAC is exercised), and reads the Events back.
func TestBadAnnotationsBecomeOneWarningEventOnTheIngress(t *testing.T) {
	applyManifests(t) // RBAC for the controller's service account
	createIngresses(t)
	var broken *networkingv1.Ingress
	for _, ing := range readIngresses(t) {
		if ing.Name == "broken" {
			broken = ing
		}
	}
	if broken == nil {
		t.Fatal("Ingress e2e/broken not found")
	}
	asController := rest.CopyConfig(cp.config)
	asController.Impersonate = rest.ImpersonationConfig{
		UserName: "system:serviceaccount:caddy-stepup:caddy-ingress",
		Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:caddy-stepup"},
	}
	client, err := kubernetes.NewForConfig(asController)
	if err != nil {
		t.Fatal(err)
	}
	tr := translate.New(controllerConfig(t, "https://idp.example.com"))
	_, diags := controllersim.Routes(tr, []*networkingv1.Ingress{broken}, controllersim.ClusterDNS)
	if len(diags) != 1 {
		t.Fatalf("diagnostics = %v, want one", diags)
	}
	for _, replica := range []string{"caddy-ingress-a", "caddy-ingress-b"} {
		r := events.NewReporter(client, replica, zap.NewNop())
		for range 3 { // the controller converts again on every change
			if err := r.ReportAndWait(t.Context(), broken, diags); err != nil {
				t.Fatalf("replica %s: %v", replica, err)
			}
		}
	}
	list, err := cp.client.CoreV1().Events(testNS).List(t.Context(), metav1.ListOptions{
		FieldSelector: "involvedObject.kind=Ingress,involvedObject.name=broken,reason=" + events.Reason,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("%d events for e2e/broken, want exactly 1: %v", len(list.Items), list.Items)
	}
	ev := list.Items[0]
	if ev.Type != corev1.EventTypeWarning || ev.InvolvedObject.UID != broken.UID ||
		!strings.Contains(ev.Message, "ingress e2e/broken") || !strings.Contains(ev.Message, translate.Prefix+"max-age") {
		t.Errorf("event %s: type %s, uid %s, message %q; want a Warning on e2e/broken naming %smax-age", ev.Name, ev.Type, ev.InvolvedObject.UID, ev.Message, translate.Prefix)
	}
}
