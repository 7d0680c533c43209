// Package secretstore is a test model of the Caddy ingress controller's
// storage module (github.com/caddyserver/ingress, pkg/storage/storage.go at
// 0e3de1e): a certmagic.Storage on Kubernetes Secrets, locked with Leases,
// registered under the same module ID and JSON fields, so a Caddy built
// with it (cmd/caddy-secretstore, tests only) loads the storage block the
// controller writes.
//
// The controller's module is not on the Go module proxy, so it cannot be
// linked here. This package is written from a reading of its source, not
// copied from it; every method names the lines it follows. It reproduces
// the behaviour the stepup plugin depends on, quirks included:
//
//   - Names: "caddy.ingress--" + the key with each run of characters other
//     than ASCII letters, digits and '-' replaced by one '.' (L31, L39-46);
//     lock Leases use "caddy-lock-" the same way (L29).
//   - Secrets carry the label manager=caddy and the value under data.value
//     (L34-37, L110-119).
//   - Store is Exists (a List with a name field selector) then Update or
//     Create, not atomic (L88-135). Stat's Modified is the Secret's creation
//     time, so it does not move on Update (L186-200). List ignores
//     recursive and returns the cleaned names without the prefix, so a key
//     listed as "a.b" is the key stored as "a/b" (L163-183). Delete of a
//     missing key is an error, as the API server's NotFound (L152-160).
//   - Lock creates or takes over a Lease (holder = leaseId, or a random
//     UUID per Caddy config load), polls every 5 s while another holder's
//     renewal is younger than 5 s, and once held renews it every 2 s until
//     it is gone (L25-28, L202-286). Unlock deletes the Lease whoever holds
//     it (L288-291).
//
// Not covered: the controller's logger calls; its Provision ignores errors
// from building the client (and would panic later), where this one returns
// them; in-cluster config (tests give KUBECONFIG); Leases written by
// client-go's resourcelock are compared only by the fields it sets
// (holderIdentity, leaseDurationSeconds, acquireTime, renewTime,
// leaseTransitions).
package secretstore

import (
	"fmt"
	"os"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/certmagic"
	"github.com/google/uuid"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

const (
	secretPrefix = "caddy.ingress--"
	leasePrefix  = "caddy-lock-"
)

// labels mark every Secret the storage writes; List selects on them.
var labels = map[string]string{"manager": "caddy"}

func init() {
	caddy.RegisterModule(Storage{})
}

// Storage is the controller's `secret_store` storage module, as it appears
// in the config the controller writes:
// `"storage": {"module": "secret_store", "namespace": "…", "leaseId": "…"}`.
type Storage struct {
	// Namespace holds the Secrets and Leases (the controller's own).
	Namespace string `json:"namespace"`
	// LeaseID identifies this replica as a lock holder; random when empty.
	LeaseID string `json:"leaseId"`

	client kubernetes.Interface
}

// CaddyModule returns the Caddy module information.
func (Storage) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "caddy.storage.secret_store",
		New: func() caddy.Module { return new(Storage) },
	}
}

// Provision connects to the API server named by $KUBECONFIG (L69-80).
func (s *Storage) Provision(caddy.Context) error {
	config, err := clientcmd.BuildConfigFromFlags("", os.Getenv("KUBECONFIG"))
	if err != nil {
		return fmt.Errorf("secret_store: kubeconfig: %w", err)
	}
	if s.client, err = kubernetes.NewForConfig(config); err != nil {
		return fmt.Errorf("secret_store: client: %w", err)
	}
	if s.LeaseID == "" {
		s.LeaseID = uuid.NewString()
	}
	return nil
}

// New returns the storage for namespace through client, as Provision would.
func New(client kubernetes.Interface, namespace, leaseID string) *Storage {
	if leaseID == "" {
		leaseID = uuid.NewString()
	}
	return &Storage{Namespace: namespace, LeaseID: leaseID, client: client}
}

// CertMagicStorage returns the storage itself (L83-85).
func (s *Storage) CertMagicStorage() (certmagic.Storage, error) { return s, nil }

// SecretName is the Secret that holds key.
func SecretName(key string) string { return clean(secretPrefix, key) }

// LeaseName is the Lease that locks key.
func LeaseName(key string) string { return clean(leasePrefix, key) }

// clean appends key to prefix with every run of characters outside
// [0-9A-Za-z-] turned into a single '.'.
func clean(prefix, key string) string {
	var b strings.Builder
	b.WriteString(prefix)
	inRun := false
	for _, r := range key {
		ok := r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		switch {
		case ok:
			b.WriteRune(r)
			inRun = false
		case !inRun:
			b.WriteByte('.')
			inRun = true
		}
	}
	return b.String()
}

// Interface guards
var (
	_ caddy.Provisioner      = (*Storage)(nil)
	_ caddy.StorageConverter = (*Storage)(nil)
	_ certmagic.Storage      = (*Storage)(nil)
)
