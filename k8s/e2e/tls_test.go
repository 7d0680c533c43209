package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/caddy-stepup/caddy-stepup/k8s/internal/controllersim"
	"github.com/caddy-stepup/caddy-stepup/k8s/translate"
)

const (
	tlsNS   = "tls"
	tlsHost = "tls.localhost"
)

// selfSigned returns a certificate for host and its key, PEM-encoded.
func selfSigned(t *testing.T, host string) (certPEM, keyPEM []byte, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: host},
		DNSNames:     []string{host},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), cert
}

// TestTLSIngressIsServedWithItsSecretAndStepsUpOverHTTPS creates a TLS
// Secret and an annotated Ingress with a tls section through the API
// server, writes the Secret where the model says the controller writes it
// (the certificate directory under RUNTIME_DIRECTORY, as the Deployment
// sets it), and serves the conversion with Caddy over TLS as the controller
// configures it (its certificate directory loaded, the protocol https
// matcher kept). The Secret's certificate must be served, the annotated path
// must step up, and the login must come back to an https callback.
func TestTLSIngressIsServedWithItsSecretAndStepsUpOverHTTPS(t *testing.T) {
	ctx := t.Context()
	certPEM, keyPEM, cert := selfSigned(t, tlsHost)
	if _, err := cp.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tlsNS}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "shop-tls", Namespace: tlsNS},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{corev1.TLSCertKey: certPEM, corev1.TLSPrivateKeyKey: keyPEM},
	}
	if _, err := cp.client.CoreV1().Secrets(tlsNS).Create(ctx, secret, metav1.CreateOptions{FieldValidation: "Strict"}); err != nil {
		t.Fatal(err)
	}
	prefix := networkingv1.PathTypePrefix
	class := "caddy-stepup"
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: tlsNS, Annotations: map[string]string{
			ann + "paths": "/admin/*", ann + "acr": "mfa",
		}},
		Spec: networkingv1.IngressSpec{
			IngressClassName: &class,
			TLS:              []networkingv1.IngressTLS{{Hosts: []string{tlsHost}, SecretName: "shop-tls"}},
			Rules: []networkingv1.IngressRule{{Host: tlsHost, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}},
				}}},
			}}}},
		},
	}
	if _, err := cp.client.NetworkingV1().Ingresses(tlsNS).Create(ctx, ing, metav1.CreateOptions{FieldValidation: "Strict"}); err != nil {
		t.Fatal(err)
	}
	got, err := cp.client.NetworkingV1().Ingresses(tlsNS).Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ings := []*networkingv1.Ingress{got}

	// The certificate directory, resolved as the model resolves it from
	// the environment the Deployment gives (RUNTIME_DIRECTORY), here under
	// a temporary directory.
	runtimeDir := t.TempDir()
	certDir := controllersim.Writes(func(k string) string {
		if k == "RUNTIME_DIRECTORY" {
			return runtimeDir
		}
		return ""
	})[0].Path
	hosts, err := controllersim.WriteTLSSecrets(certDir, ings, func(ns, name string) (*corev1.Secret, error) {
		return cp.client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	})
	if err != nil {
		t.Fatal(err)
	}

	op := startOP(t, clientID, clientSecret)
	routes, diags := controllersim.Convert(translate.New(controllerConfig(t, op.Issuer())), ings, controllersim.Options{SmartSort: true, Upstream: startUpstreams(t)})
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	addr := loopbackAddr()
	config, err := json.Marshal(map[string]any{
		"admin":   map[string]any{"disabled": true},
		"storage": map[string]any{"module": "file_system", "root": t.TempDir()},
		"logging": map[string]any{"logs": map[string]any{"default": map[string]any{"level": "WARN"}}},
		"apps": map[string]any{
			// The controller's TLS plugin: load the certificate directory.
			"tls": map[string]any{"certificates": map[string]any{"load_folders": []string{certDir}}},
			"http": map[string]any{"servers": map[string]any{"ingress_server": map[string]any{
				"listen":                  []string{addr},
				"tls_connection_policies": []any{map[string]any{}},
				// The controller skips automatic HTTPS for these hosts;
				// the test also turns off the rest (no ACME here).
				"automatic_https": map[string]any{"disable": true, "skip_certificates": hosts},
				"routes":          routes,
			}}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	startCaddy(t, "tls", addr, config, "STEPUP_CLIENT_SECRET="+clientSecret)

	roots := x509.NewCertPool()
	roots.AddCert(cert)
	client := &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: tlsHost},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
		},
	}
	get := func(t *testing.T, path string, header http.Header) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "https://"+tlsHost+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range header {
			req.Header[k] = v
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	t.Run("the Secret's certificate is served for the Ingress's host", func(t *testing.T) {
		resp, _ := get(t, "/catalog", api)
		if resp.TLS == nil || len(resp.TLS.PeerCertificates) == 0 || !bytes.Equal(resp.TLS.PeerCertificates[0].Raw, cert.Raw) {
			t.Fatal("the server did not present the certificate from the Secret")
		}
	})
	t.Run("a path the annotation does not name reaches the upstream", func(t *testing.T) {
		resp, body := get(t, "/catalog", api)
		if resp.StatusCode != http.StatusOK || body != "upstream=web user=" {
			t.Fatalf("GET /catalog: %d %q, want 200 from web", resp.StatusCode, body)
		}
	})
	t.Run("an API request to the annotated path gets the challenge", func(t *testing.T) {
		resp, body := get(t, "/admin/x", api)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `acr_values="mfa"`) {
			t.Fatalf("GET /admin/x: %d %q %q, want 401 with the challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
		}
	})
	t.Run("a browser is sent to the IdP with the https callback", func(t *testing.T) {
		resp, _ := get(t, "/admin/x", browser)
		loc, err := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || err != nil {
			t.Fatalf("navigation to /admin/x: %d %q, want 302 to the OP", resp.StatusCode, resp.Header.Get("Location"))
		}
		callback, _, _ := translate.Endpoints(tlsNS, "shop")
		if got, want := loc.Query().Get("redirect_uri"), "https://"+tlsHost+callback; got != want {
			t.Errorf("redirect_uri %q, want %q", got, want)
		}
	})
}
