package controllersim

import (
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// WriteTLSSecrets does what the controller does for Ingresses with a tls
// section (internal/controller/action_tls.go L100-134 and L69-83): it
// creates the certificate directory, then writes each TLS Secret the
// Ingresses name as <dir>/<secret name>.pem, the concatenation of the
// Secret's data values (in map order, as the controller does). get returns a
// Secret by namespace and name; Secrets it cannot find are skipped, as the
// controller skips them. It returns the hosts the controller then exempts
// from automatic HTTPS (internal/caddy/global/tls.go L29-46).
func WriteTLSSecrets(dir string, ings []*networkingv1.Ingress, get func(namespace, name string) (*corev1.Secret, error)) ([]string, error) {
	var hosts []string
	seen := map[string]bool{}
	for _, ing := range ings {
		for _, t := range ing.Spec.TLS {
			for _, h := range t.Hosts {
				if !seen[h] {
					seen[h] = true
					hosts = append(hosts, h)
				}
			}
		}
	}
	if len(hosts) == 0 {
		return nil, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	for _, ing := range ings {
		for _, t := range ing.Spec.TLS {
			s, err := get(ing.Namespace, t.SecretName)
			if err != nil {
				continue
			}
			var pem []byte
			for _, v := range s.Data {
				pem = append(pem, v...)
			}
			if err := os.WriteFile(filepath.Join(dir, s.Name+".pem"), pem, 0o644); err != nil {
				return nil, err
			}
		}
	}
	return hosts, nil
}
