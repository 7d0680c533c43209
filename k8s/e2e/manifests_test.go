package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/caddy-stepup/caddy-stepup/k8s/internal/controllersim"
	"github.com/caddy-stepup/caddy-stepup/k8s/translate"
)

const manifestsDir = "../manifests"

// manifestFiles lists every YAML file under k8s/manifests except the
// kustomizations, which are not API objects.
func manifestFiles(t *testing.T) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(manifestsDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".yaml") && d.Name() != "kustomization.yaml" {
			files = append(files, path)
		}
		return err
	})
	if err != nil || len(files) == 0 {
		t.Fatalf("listing %s: %v (%d files)", manifestsDir, err, len(files))
	}
	return files
}

func decodeObjects(t *testing.T, file string) []*unstructured.Unstructured {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	var objs []*unstructured.Unstructured
	for {
		var obj unstructured.Unstructured
		err := dec.Decode(&obj.Object)
		if errors.Is(err, io.EOF) {
			return objs
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if len(obj.Object) > 0 {
			objs = append(objs, &obj)
		}
	}
}

// applyManifests creates every object of every manifest in the API server,
// namespaces first, with strict field validation: an unknown or misspelt
// field is an error, as is anything the API server's validation rejects.
// It runs once per test binary.
func applyManifests(t *testing.T) {
	t.Helper()
	manifestsApplied.Do(func() { manifestsErr = doApplyManifests(t) })
	if manifestsErr != nil {
		t.Fatal(manifestsErr)
	}
}

var (
	manifestsApplied sync.Once
	manifestsErr     error
)

func doApplyManifests(t *testing.T) error {
	var objs []*unstructured.Unstructured
	origin := map[*unstructured.Unstructured]string{}
	for _, f := range manifestFiles(t) {
		for _, o := range decodeObjects(t, f) {
			objs = append(objs, o)
			origin[o] = f
		}
	}
	sort.SliceStable(objs, func(i, j int) bool {
		return objs[i].GetKind() == "Namespace" && objs[j].GetKind() != "Namespace"
	})
	dyn, err := dynamic.NewForConfig(cp.config)
	if err != nil {
		return err
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(cp.client.Discovery()))
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return errors.New(origin[o] + ": " + err.Error())
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == "namespace" {
			if o.GetNamespace() == "" {
				return errors.New(origin[o] + ": " + gvk.Kind + " " + o.GetName() + " has no namespace")
			}
			ri = dyn.Resource(m.Resource).Namespace(o.GetNamespace())
		}
		_, err = ri.Create(context.Background(), o, metav1.CreateOptions{FieldValidation: "Strict", FieldManager: "stepup-e2e"})
		if err != nil {
			return errors.New(origin[o] + ": " + gvk.Kind + " " + o.GetName() + ": " + err.Error())
		}
	}
	return nil
}

func TestEveryManifestIsAcceptedByTheAPIServer(t *testing.T) {
	applyManifests(t)
	ctx := t.Context()
	dep, err := cp.client.AppsV1().Deployments("caddy-stepup").Get(ctx, "caddy-ingress", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 2 {
		t.Errorf("controller replicas = %v, want 2 (sessions are shared through storage)", dep.Spec.Replicas)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	var secretRef string
	for _, e := range c.Env {
		if e.Name == "STEPUP_CLIENT_SECRET" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
			secretRef = e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
		}
	}
	sec, err := cp.client.CoreV1().Secrets("caddy-stepup").Get(ctx, "caddy-stepup-client", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sec.Data["client-secret"]; !ok || secretRef != "caddy-stepup-client/client-secret" {
		t.Errorf("STEPUP_CLIENT_SECRET comes from %q; want the Secret template's caddy-stepup-client/client-secret", secretRef)
	}
	if !slices.Contains(c.Args, "-class-name=caddy-stepup") {
		t.Errorf("controller args %v do not select the caddy-stepup IngressClass", c.Args)
	}
	if _, err := cp.client.NetworkingV1().IngressClasses().Get(ctx, "caddy-stepup", metav1.GetOptions{}); err != nil {
		t.Error(err)
	}
}

// TestKustomizationsListEveryManifest: `kubectl apply -k` installs only what
// a kustomization lists, so each directory's must list all its files.
func TestKustomizationsListEveryManifest(t *testing.T) {
	byDir := map[string][]string{}
	for _, f := range manifestFiles(t) {
		byDir[filepath.Dir(f)] = append(byDir[filepath.Dir(f)], filepath.Base(f))
	}
	for dir, files := range byDir {
		data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
		if err != nil {
			t.Errorf("%s: %v", dir, err)
			continue
		}
		var k struct {
			Resources []string `json:"resources"`
		}
		if err := yaml.Unmarshal(data, &k); err != nil {
			t.Fatal(err)
		}
		sort.Strings(files)
		sort.Strings(k.Resources)
		if !slices.Equal(files, k.Resources) {
			t.Errorf("%s/kustomization.yaml lists %v; the directory has %v", dir, k.Resources, files)
		}
	}
}

// TestControllerRBACAllowsWhatTheControllerDoes asks the API server's RBAC
// authorizer what the controller's service account may do.
func TestControllerRBACAllowsWhatTheControllerDoes(t *testing.T) {
	applyManifests(t)
	const sa = "system:serviceaccount:caddy-stepup:caddy-ingress"
	for _, tc := range []struct {
		ns, group, resource, sub, verb string
		allowed                        bool
	}{
		{"", "networking.k8s.io", "ingresses", "", "watch", true},
		{"demo", "networking.k8s.io", "ingresses", "status", "update", true},
		{"demo", "", "events", "", "create", true},
		{"demo", "", "secrets", "", "list", true},           // TLS secrets named by Ingresses
		{"caddy-stepup", "", "secrets", "", "create", true}, // storage, shared by the replicas
		{"caddy-stepup", "coordination.k8s.io", "leases", "", "update", true},
		{"demo", "", "secrets", "", "create", false},                    // storage stays in its own namespace
		{"demo", "networking.k8s.io", "ingresses", "", "update", false}, // reads Ingresses, never edits them
	} {
		review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: sa, Groups: []string{"system:serviceaccounts", "system:serviceaccounts:caddy-stepup"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Namespace: tc.ns, Group: tc.group, Resource: tc.resource, Subresource: tc.sub, Verb: tc.verb,
			},
		}}
		got, err := cp.client.AuthorizationV1().SubjectAccessReviews().Create(t.Context(), review, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.Allowed != tc.allowed {
			t.Errorf("%s %s %s/%s in %q: allowed=%v, want %v (%s)", sa, tc.verb, tc.resource, tc.sub, tc.ns, got.Status.Allowed, tc.allowed, got.Status.Reason)
		}
	}
}

// TestShippedConfigAndExampleIngressesLoadIntoCaddy reads the stepup
// ConfigMap and the example Ingresses back from the API server, translates
// them and loads the result into the Caddy binary.
func TestShippedConfigAndExampleIngressesLoadIntoCaddy(t *testing.T) {
	applyManifests(t)
	ctx := t.Context()
	cm, err := cp.client.CoreV1().ConfigMaps("caddy-stepup").Get(ctx, "caddy-stepup", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := translate.ParseConfig([]byte(cm.Data["config.yaml"]), func(string) string { return "" })
	if err != nil {
		t.Fatalf("the shipped caddy-stepup ConfigMap does not parse: %v", err)
	}
	list, err := cp.client.NetworkingV1().Ingresses("demo").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) == 0 {
		t.Fatal("no example Ingresses in namespace demo")
	}
	tr := translate.New(cfg)
	for i := range list.Items {
		ing := &list.Items[i]
		if ing.Spec.IngressClassName == nil || *ing.Spec.IngressClassName != "caddy-stepup" {
			t.Errorf("example Ingress %s does not use the caddy-stepup class", ing.Name)
		}
		routes, diags := controllersim.Routes(tr, []*networkingv1.Ingress{ing}, controllersim.ClusterDNS)
		if len(diags) > 0 {
			t.Fatalf("example Ingress %s: %v", ing.Name, diags)
		}
		if got := handlerNames(t, routes[0]); got[0] != "stepup" {
			t.Errorf("example Ingress %s: handlers %v, want stepup first", ing.Name, got)
		}
		if err := caddyValidate(t, controllersim.Config(routes, loopbackAddr(), t.TempDir())); err != nil {
			t.Errorf("example Ingress %s does not load into Caddy: %v", ing.Name, err)
		}
	}
}
