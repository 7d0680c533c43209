// Package e2e runs the k8s tier against real components: etcd and
// kube-apiserver (a real control plane on loopback) and the Caddy binary
// with the stepup module. k8s/scripts/test provides them:
//
//	STEPUP_ETCD            etcd binary (Debian's etcd-server)
//	STEPUP_KUBE_APISERVER  kube-apiserver binary (k8s/scripts/build-apiserver)
//	STEPUP_CADDY           Caddy with the stepup module (scripts/build-caddy)
//	STEPUP_CADDY_SECRETSTORE  the same plus the test model of the controller's
//	                       Secret storage (k8s/internal/secretstore/cmd/caddy-secretstore)
//
// Without them the tests fail; they never skip.
package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"
)

var (
	caddyBin string
	// caddySecretStoreBin is Caddy with the model of the controller's
	// storage module linked in; only tests use it.
	caddySecretStoreBin string
	cp                  *controlPlane
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	missing := ""
	env := map[string]string{}
	for _, name := range []string{"STEPUP_ETCD", "STEPUP_KUBE_APISERVER", "STEPUP_CADDY", "STEPUP_CADDY_SECRETSTORE"} {
		v := os.Getenv(name)
		if st, err := os.Stat(v); v == "" || err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			missing += fmt.Sprintf("  %s=%q is not an executable file\n", name, v)
		}
		env[name] = v
	}
	if missing != "" {
		fmt.Fprintf(os.Stderr, "FAIL: the k8s e2e tests need real binaries; run k8s/scripts/test, which provides them:\n%s", missing)
		return 1
	}
	caddyBin = env["STEPUP_CADDY"]
	caddySecretStoreBin = env["STEPUP_CADDY_SECRETSTORE"]
	dir, err := os.MkdirTemp("", "stepup-k8s-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	start := time.Now()
	cp, err = startControlPlane(context.Background(), dir, env["STEPUP_ETCD"], env["STEPUP_KUBE_APISERVER"])
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: starting the control plane:", err)
		return 1 // dir kept: it has the etcd and kube-apiserver logs
	}
	v, err := cp.client.Discovery().ServerVersion()
	if err != nil {
		cp.stop()
		fmt.Fprintln(os.Stderr, "FAIL: asking the API server its version:", err)
		return 1
	}
	fmt.Printf("control plane: kube-apiserver %s, ready in %s\n", v.GitVersion, time.Since(start).Round(100*time.Millisecond))
	code := m.Run()
	cp.stop()
	if code == 0 {
		os.RemoveAll(dir)
	} else {
		fmt.Fprintln(os.Stderr, "control plane logs kept in", dir)
	}
	return code
}
