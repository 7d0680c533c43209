// Package events reports step-up translation diagnostics: once in the log
// and once as a Warning Event on the Ingress concerned, so `kubectl describe
// ingress` shows why its routes answer 503.
package events

import (
	"context"
	"fmt"
	"hash/fnv"
	"sync"
	"time"

	"go.uber.org/zap"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/caddy-stepup/caddy-stepup/k8s/translate"
)

// Event fields.
const (
	Reason    = "StepUpConfigInvalid"
	Component = "caddy-stepup"
)

// Reporter logs and records diagnostics. The controller converts its whole
// config on every change, so the same diagnostic comes back again and again:
// each is reported once per version of its Ingress. Safe for concurrent use.
type Reporter struct {
	client kubernetes.Interface // nil: log only
	host   string               // Event source host: the controller pod
	logger *zap.Logger
	now    func() time.Time

	mu   sync.Mutex
	seen map[string]bool // event names reported by this process
}

// maxSeen bounds memory; when reached the set starts over, which at worst
// repeats a log line (the Event itself already exists and is not duplicated).
const maxSeen = 10000

// NewReporter returns a Reporter. client may be nil (events off).
func NewReporter(client kubernetes.Interface, host string, logger *zap.Logger) *Reporter {
	return &Reporter{client: client, host: host, logger: logger, now: time.Now, seen: map[string]bool{}}
}

// Report logs the diagnostics not reported before and creates their Events
// in the background, so the conversion it is called from never waits for
// the API server.
func (r *Reporter) Report(ing *networkingv1.Ingress, diags []translate.Diagnostic) {
	fresh := r.fresh(ing, diags)
	if len(fresh) == 0 || r.client == nil {
		return
	}
	ing = ing.DeepCopy()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := r.create(ctx, ing, fresh); err != nil {
			r.logger.Warn("recording step-up diagnostics as events", zap.String("ingress", ing.Namespace+"/"+ing.Name), zap.Error(err))
		}
	}()
}

// ReportAndWait is Report, waiting for the Events to be created.
func (r *Reporter) ReportAndWait(ctx context.Context, ing *networkingv1.Ingress, diags []translate.Diagnostic) error {
	fresh := r.fresh(ing, diags)
	if len(fresh) == 0 || r.client == nil {
		return nil
	}
	return r.create(ctx, ing, fresh)
}

type namedDiagnostic struct {
	name string
	translate.Diagnostic
}

// fresh logs and returns the diagnostics this process has not reported for
// this version of ing.
func (r *Reporter) fresh(ing *networkingv1.Ingress, diags []translate.Diagnostic) []namedDiagnostic {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []namedDiagnostic
	for _, d := range diags {
		name := EventName(ing, d)
		if r.seen[name] {
			continue
		}
		if len(r.seen) >= maxSeen {
			r.seen = map[string]bool{}
		}
		r.seen[name] = true
		r.logger.Error("step-up annotations rejected; the Ingress's routes answer 503",
			zap.String("ingress", d.Namespace+"/"+d.Name), zap.String("annotation", d.Key), zap.String("problem", d.Message))
		out = append(out, namedDiagnostic{name, d})
	}
	return out
}

// EventName is deterministic in the Ingress's identity and version and the
// diagnostic, so every replica reporting the same problem creates the same
// Event and only the first succeeds.
func EventName(ing *networkingv1.Ingress, d translate.Diagnostic) string {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s", ing.UID, ing.ResourceVersion, d.Key, d.Message)
	name := ing.Name
	if len(name) > 200 {
		name = name[:200]
	}
	return fmt.Sprintf("%s.stepup-%016x", name, h.Sum64())
}

func (r *Reporter) create(ctx context.Context, ing *networkingv1.Ingress, diags []namedDiagnostic) error {
	now := metav1.NewTime(r.now())
	for _, d := range diags {
		ev := &corev1.Event{
			ObjectMeta: metav1.ObjectMeta{Name: d.name, Namespace: ing.Namespace},
			InvolvedObject: corev1.ObjectReference{
				APIVersion: "networking.k8s.io/v1", Kind: "Ingress",
				Namespace: ing.Namespace, Name: ing.Name, UID: ing.UID, ResourceVersion: ing.ResourceVersion,
			},
			Reason:         Reason,
			Message:        d.String(),
			Type:           corev1.EventTypeWarning,
			Source:         corev1.EventSource{Component: Component, Host: r.host},
			FirstTimestamp: now,
			LastTimestamp:  now,
			Count:          1,
		}
		_, err := r.client.CoreV1().Events(ing.Namespace).Create(ctx, ev, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("event %s/%s: %w", ing.Namespace, d.name, err)
		}
	}
	return nil
}
