package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/caddy-stepup/caddy-stepup/k8s/internal/controllersim"
)

func readManifest(t *testing.T, name string, into any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(manifestsDir, name))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, into); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// unwritable returns, for each directory the controller writes (from the
// model of its source, controllersim.Writes), why the Deployment's
// controller container could not write it: a read-only root file system
// and no writable volume mounted over the path.
func unwritable(d *appsv1.Deployment) []string {
	spec := d.Spec.Template.Spec
	i := slices.IndexFunc(spec.Containers, func(c corev1.Container) bool { return c.Name == "controller" })
	if i < 0 {
		return []string{"no container named controller"}
	}
	c := spec.Containers[i]
	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			env[e.Name] = e.Value
		}
	}
	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	rootReadOnly := c.SecurityContext != nil && c.SecurityContext.ReadOnlyRootFilesystem != nil && *c.SecurityContext.ReadOnlyRootFilesystem
	var problems []string
	for _, w := range controllersim.Writes(func(k string) string { return env[k] }) {
		// The mount that holds the path is the one with the longest
		// mountPath that contains it.
		var best *corev1.VolumeMount
		for j, m := range c.VolumeMounts {
			if (w.Path == m.MountPath || strings.HasPrefix(w.Path, strings.TrimSuffix(m.MountPath, "/")+"/")) &&
				(best == nil || len(m.MountPath) > len(best.MountPath)) {
				best = &c.VolumeMounts[j]
			}
		}
		switch {
		case best == nil && rootReadOnly:
			problems = append(problems, w.Path+": on the read-only root file system ("+w.Why+"; "+w.Source+")")
		case best != nil && best.ReadOnly:
			problems = append(problems, w.Path+": on read-only mount "+best.MountPath)
		case best != nil && volumes[best.Name].EmptyDir == nil:
			problems = append(problems, w.Path+": on volume "+best.Name+", which is not an emptyDir")
		}
	}
	return problems
}

// TestTheControllerCanWriteEveryPathItWrites checks the shipped Deployment
// against the model of what the controller writes (TLS Secrets as PEM
// files, Caddy's autosave and instance id): every such directory must be on
// a writable emptyDir while the root file system stays read-only.
func TestTheControllerCanWriteEveryPathItWrites(t *testing.T) {
	var d appsv1.Deployment
	readManifest(t, "deployment.yaml", &d)
	c := d.Spec.Template.Spec.Containers[0]
	if c.SecurityContext == nil || c.SecurityContext.ReadOnlyRootFilesystem == nil || !*c.SecurityContext.ReadOnlyRootFilesystem {
		t.Fatal("the controller container must keep readOnlyRootFilesystem: true")
	}
	if problems := unwritable(&d); len(problems) > 0 {
		t.Errorf("the controller cannot write:\n  %s", strings.Join(problems, "\n  "))
	}

	t.Run("the check finds the TLS failure of a Deployment without RUNTIME_DIRECTORY", func(t *testing.T) {
		// The shipped Deployment before this fix: the controller would
		// create /etc/caddy/certs on the read-only root.
		bad := d.DeepCopy()
		ct := &bad.Spec.Template.Spec.Containers[0]
		ct.Env = slices.DeleteFunc(ct.Env, func(e corev1.EnvVar) bool { return e.Name == "RUNTIME_DIRECTORY" })
		problems := unwritable(bad)
		if len(problems) != 1 || !strings.HasPrefix(problems[0], "/etc/caddy/certs: on the read-only root") {
			t.Errorf("problems %q, want exactly /etc/caddy/certs on the read-only root", problems)
		}
	})
}

// TestTheControllerConfigMapTurnsOnTheSmartSort: the controller sorts routes
// by path only with experimentalSmartSort (its ConfigMap is decoded with
// weakly typed input, so the string "true" is the boolean true).
func TestTheControllerConfigMapTurnsOnTheSmartSort(t *testing.T) {
	var cm corev1.ConfigMap
	readManifest(t, "controller-configmap.yaml", &cm)
	if cm.Data["experimentalSmartSort"] != "true" {
		t.Errorf("controller ConfigMap data %v: want experimentalSmartSort: \"true\"", cm.Data)
	}
}
