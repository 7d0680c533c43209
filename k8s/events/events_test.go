package events

import (
	"strings"
	"testing"

	"go.uber.org/zap"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/caddy-stepup/caddy-stepup/k8s/translate"
)

func testIngress(rv string) *networkingv1.Ingress {
	return &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "storefront", UID: "u-1", ResourceVersion: rv}}
}

var diag = translate.Diagnostic{Namespace: "shop", Name: "storefront", Key: translate.Prefix + "max-age", Message: `"300" is not a duration`}

func TestEachDiagnosticBecomesOneEventPerIngressVersion(t *testing.T) {
	client := fake.NewClientset()
	replicaA := NewReporter(client, "a", zap.NewNop())
	replicaB := NewReporter(client, "b", zap.NewNop())
	for _, r := range []*Reporter{replicaA, replicaA, replicaB} {
		if err := r.ReportAndWait(t.Context(), testIngress("7"), []translate.Diagnostic{diag}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := client.CoreV1().Events("shop").List(t.Context(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("%d events, want 1 (same diagnostic, same Ingress version)", len(list.Items))
	}
	ev := list.Items[0]
	if ev.Reason != Reason || ev.Type != "Warning" || ev.InvolvedObject.Name != "storefront" || !strings.Contains(ev.Message, diag.Key) {
		t.Errorf("event = %+v", ev)
	}

	// A new version of the Ingress that still has the problem is reported again.
	if err := replicaA.ReportAndWait(t.Context(), testIngress("8"), []translate.Diagnostic{diag}); err != nil {
		t.Fatal(err)
	}
	list, _ = client.CoreV1().Events("shop").List(t.Context(), metav1.ListOptions{})
	if len(list.Items) != 2 {
		t.Fatalf("%d events after the Ingress changed, want 2", len(list.Items))
	}
}

func TestEventNamesAreValidForLongIngressNames(t *testing.T) {
	ing := testIngress("1")
	ing.Name = strings.Repeat("a", 253)
	if n := EventName(ing, diag); len(n) > 253 || !strings.HasPrefix(n, strings.Repeat("a", 200)+".stepup-") {
		t.Errorf("event name %q (%d chars)", n, len(n))
	}
}

func TestWithoutAClientDiagnosticsAreOnlyLogged(t *testing.T) {
	r := NewReporter(nil, "a", zap.NewNop())
	if err := r.ReportAndWait(t.Context(), testIngress("1"), []translate.Diagnostic{diag}); err != nil {
		t.Fatal(err)
	}
}
