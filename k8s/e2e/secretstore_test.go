package e2e

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/caddy-stepup/caddy-stepup/k8s/internal/secretstore"
)

// The controller's namespace and service account, from the manifests: its
// storage lives there and its RBAC (rbac.yaml) is all it may use.
const (
	controllerNS = "caddy-stepup"
	controllerSA = "system:serviceaccount:caddy-stepup:caddy-ingress"
)

// controllerClient is a client acting as the controller's service account
// (the test's admin certificate impersonates it), after the manifests that
// grant its rights are applied.
func controllerClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	applyManifests(t)
	cfg := rest.CopyConfig(cp.config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: controllerSA}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// controllerKubeconfig writes a kubeconfig for the same identity, for Caddy
// processes whose secret_store reads $KUBECONFIG.
func controllerKubeconfig(t *testing.T) string {
	t.Helper()
	applyManifests(t)
	tls := cp.config.TLSClientConfig
	file := filepath.Join(t.TempDir(), "kubeconfig")
	err := clientcmd.WriteToFile(clientcmdapi.Config{
		Clusters: map[string]*clientcmdapi.Cluster{"e2e": {Server: cp.config.Host, CertificateAuthority: tls.CAFile}},
		AuthInfos: map[string]*clientcmdapi.AuthInfo{"controller": {
			ClientCertificate: tls.CertFile, ClientKey: tls.KeyFile, Impersonate: controllerSA,
		}},
		Contexts:       map[string]*clientcmdapi.Context{"e2e": {Cluster: "e2e", AuthInfo: "controller"}},
		CurrentContext: "e2e",
	}, file)
	if err != nil {
		t.Fatal(err)
	}
	return file
}

// TestSecretStorageModelKeepsKeysInLabelledSecretsAndLocksWithLeases runs
// the model of the controller's storage against the API server, as the
// controller's service account, and pins the behaviour the stepup plugin
// meets there (see the package doc of internal/secretstore for the source
// lines).
func TestSecretStorageModelKeepsKeysInLabelledSecretsAndLocksWithLeases(t *testing.T) {
	client := controllerClient(t)
	ctx := t.Context()
	a := secretstore.New(client, controllerNS, "replica-a")
	b := secretstore.New(client, controllerNS, "replica-b")

	t.Run("a key is one labelled Secret named after the cleaned key, its value under data.value", func(t *testing.T) {
		const key = "e2e_model/some..key.json"
		if err := a.Store(ctx, key, []byte("one")); err != nil {
			t.Fatal(err)
		}
		s, err := cp.client.CoreV1().Secrets(controllerNS).Get(ctx, "caddy.ingress--e2e.model.some.key.json", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("the Secret is not where the controller puts it: %v", err)
		}
		if s.Labels["manager"] != "caddy" || string(s.Data["value"]) != "one" {
			t.Fatalf("Secret labels %v data %q, want manager=caddy and value one", s.Labels, s.Data)
		}
		if !b.Exists(ctx, key) {
			t.Fatal("another replica does not see the key")
		}
		created := s.CreationTimestamp.UTC()
		time.Sleep(1100 * time.Millisecond) // creation timestamps have whole seconds
		if err := b.Store(ctx, key, []byte("two")); err != nil {
			t.Fatalf("overwriting through another replica: %v", err)
		}
		if v, err := a.Load(ctx, key); err != nil || string(v) != "two" {
			t.Fatalf("Load = %q, %v; want the overwritten value", v, err)
		}
		info, err := a.Stat(ctx, key)
		if err != nil || info.Size != 3 || !info.Modified.Equal(created) {
			t.Fatalf("Stat = %+v, %v; want size 3 and the creation time %s (the controller reports that, not the update)", info, err, created)
		}
		keys, err := a.List(ctx, "e2e_model", true)
		if err != nil || !slices.Equal(keys, []string{"e2e.model.some.key.json"}) {
			t.Fatalf("List = %q, %v; want the cleaned name", keys, err)
		}
		if err := a.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Load(ctx, key); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("Load after Delete: %v, want fs.ErrNotExist", err)
		}
		if err := b.Delete(ctx, key); !apierrors.IsNotFound(err) {
			t.Fatalf("second Delete: %v, want the API server's NotFound (as the controller returns it)", err)
		}
	})

	t.Run("the plugin's key files are valid Secret and Lease names", func(t *testing.T) {
		dry := []string{metav1.DryRunAll}
		// A held form's key has the handler's shape: stepup/held/ and 64
		// lower-case hex digits (stepup/resume.go newHeldID).
		held := "stepup/held/" + strings.Repeat("0123456789abcdef", 4)
		for _, key := range []string{"stepup/cookie_keys.json", "stepup/assertion_keys.json", held} {
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: secretstore.SecretName(key)}}
			if _, err := client.CoreV1().Secrets(controllerNS).Create(ctx, s, metav1.CreateOptions{DryRun: dry}); err != nil {
				t.Errorf("Secret for %s: %v", key, err)
			}
			l := &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: secretstore.LeaseName(key)}}
			if _, err := client.CoordinationV1().Leases(controllerNS).Create(ctx, l, metav1.CreateOptions{DryRun: dry}); err != nil {
				t.Errorf("Lease for %s: %v", key, err)
			}
		}
	})

	const lockKey = "e2e-model/lock"
	lease := func(t *testing.T) *coordinationv1.Lease {
		t.Helper()
		l, err := cp.client.CoordinationV1().Leases(controllerNS).Get(ctx, secretstore.LeaseName(lockKey), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}

	t.Run("a held lock is renewed and keeps another replica out", func(t *testing.T) {
		lockCtx, release := context.WithCancel(ctx)
		defer release()
		if err := a.Lock(lockCtx, lockKey); err != nil {
			t.Fatal(err)
		}
		first := lease(t).Spec.RenewTime.Time
		waitUntil(t, 30*time.Second, "the holder renews its Lease", func() bool { return lease(t).Spec.RenewTime.After(first) })
		if h := *lease(t).Spec.HolderIdentity; h != "replica-a" {
			t.Fatalf("holder %q, want replica-a", h)
		}
		tryCtx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if err := b.Lock(tryCtx, lockKey); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("second replica's Lock: %v, want it still waiting when its context ends", err)
		}
	})

	t.Run("unlock lets the waiting replica in", func(t *testing.T) {
		got := make(chan error, 1)
		waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		go func() { got <- b.Lock(waitCtx, lockKey) }()
		if err := a.Unlock(ctx, lockKey); err != nil {
			t.Fatal(err)
		}
		if err := <-got; err != nil {
			t.Fatalf("waiting replica: %v", err)
		}
		if h := *lease(t).Spec.HolderIdentity; h != "replica-b" {
			t.Fatalf("holder %q, want replica-b", h)
		}
		if err := b.Unlock(ctx, lockKey); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a lock its holder stopped renewing is taken over", func(t *testing.T) {
		stale := metav1.NewMicroTime(time.Now().Add(-time.Minute))
		dead, secs, n := "crashed-replica", int32(5), int32(3)
		_, err := client.CoordinationV1().Leases(controllerNS).Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Name: secretstore.LeaseName(lockKey)},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity: &dead, LeaseDurationSeconds: &secs, AcquireTime: &stale, RenewTime: &stale, LeaseTransitions: &n,
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		tryCtx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := a.Lock(tryCtx, lockKey); err != nil {
			t.Fatal(err)
		}
		l := lease(t)
		if *l.Spec.HolderIdentity != "replica-a" || *l.Spec.LeaseTransitions != 4 {
			t.Fatalf("holder %q transitions %d, want replica-a and 4", *l.Spec.HolderIdentity, *l.Spec.LeaseTransitions)
		}
		if err := a.Unlock(ctx, lockKey); err != nil {
			t.Fatal(err)
		}
	})
}

// waitUntil polls cond until it holds, failing with what after limit.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not seen within %s: %s", limit, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
