package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/caddy-stepup/caddy-stepup/internal/childproc"
	"github.com/caddy-stepup/caddy-stepup/internal/freeport"
)

// controlPlane is etcd plus kube-apiserver on loopback, with certificates
// and service-account keys made for it in dir. The client authenticates
// with a client certificate in group system:masters.
type controlPlane struct {
	dir    string
	procs  []*exec.Cmd
	config *rest.Config
	client kubernetes.Interface
}

// startControlPlane starts etcd (binary etcdBin) and kube-apiserver
// (apiserverBin) and waits until the API server is ready.
func startControlPlane(ctx context.Context, dir, etcdBin, apiserverBin string) (cp *controlPlane, err error) {
	cp = &controlPlane{dir: dir}
	defer func() {
		if err != nil {
			cp.stop()
		}
	}()
	pki, err := makePKI(filepath.Join(dir, "pki"))
	if err != nil {
		return cp, err
	}
	clientPort, peerPort, apiPort := freeport.Port(), freeport.Port(), freeport.Port()
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	if err := cp.spawn("etcd", etcdBin,
		"--name=stepup-test",
		"--data-dir="+filepath.Join(dir, "etcd"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=stepup-test="+peerURL,
		"--logger=zap", "--log-level=warn",
	); err != nil {
		return cp, err
	}
	if err := cp.spawn("kube-apiserver", apiserverBin,
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(apiPort),
		"--cert-dir="+filepath.Join(dir, "apiserver-certs"),
		"--tls-cert-file="+pki.serverCert, "--tls-private-key-file="+pki.serverKey,
		"--client-ca-file="+pki.caCert,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+pki.saPublic,
		"--service-account-signing-key-file="+pki.saPrivate,
		"--service-cluster-ip-range=10.96.0.0/16",
		"--authorization-mode=RBAC",
		// No kubelets, no controller-manager: nothing reconciles the
		// kubernetes Service's endpoints, so don't try.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
	); err != nil {
		return cp, err
	}
	cp.config = &rest.Config{
		Host: "https://127.0.0.1:" + strconv.Itoa(apiPort),
		TLSClientConfig: rest.TLSClientConfig{
			CAFile: pki.caCert, CertFile: pki.clientCert, KeyFile: pki.clientKey,
		},
		QPS: 100, Burst: 200,
	}
	cp.client, err = kubernetes.NewForConfig(cp.config)
	if err != nil {
		return cp, err
	}
	return cp, cp.waitReady(ctx)
}

// spawn starts a process that logs into dir/<name>.log and dies with us.
func (cp *controlPlane) spawn(name, bin string, args ...string) error {
	logFile, err := os.Create(filepath.Join(cp.dir, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s (%s): %w", name, bin, err)
	}
	cp.procs = append(cp.procs, cmd)
	return nil
}

func (cp *controlPlane) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	var last error
	for {
		for _, p := range cp.procs {
			if p.ProcessState != nil {
				return fmt.Errorf("%s exited: %s (see %s)", p.Path, p.ProcessState, cp.dir)
			}
		}
		body, err := cp.client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		if err == nil {
			return nil
		}
		last = fmt.Errorf("%w: %s", err, body)
		select {
		case <-ctx.Done():
			return fmt.Errorf("kube-apiserver not ready after 3m: %v (logs in %s)", last, cp.dir)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// stop ends the API server, then etcd, and waits for both.
func (cp *controlPlane) stop() {
	for i := len(cp.procs) - 1; i >= 0; i-- {
		p := cp.procs[i]
		done := make(chan struct{})
		go func() { _ = p.Wait(); close(done) }()
		childproc.Stop(p.Process, done, 15*time.Second)
	}
	cp.procs = nil
}

type pkiFiles struct {
	caCert, serverCert, serverKey, clientCert, clientKey, saPublic, saPrivate string
}

// makePKI writes a CA, the API server's serving certificate for loopback,
// an admin client certificate (group system:masters) and the
// service-account signing key pair.
func makePKI(dir string) (pkiFiles, error) {
	f := pkiFiles{
		caCert: filepath.Join(dir, "ca.crt"), serverCert: filepath.Join(dir, "apiserver.crt"), serverKey: filepath.Join(dir, "apiserver.key"),
		clientCert: filepath.Join(dir, "admin.crt"), clientKey: filepath.Join(dir, "admin.key"),
		saPublic: filepath.Join(dir, "sa.pub"), saPrivate: filepath.Join(dir, "sa.key"),
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return f, err
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return f, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "caddy-stepup test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return f, err
	}
	ca, _ := x509.ParseCertificate(caDER)
	if err := writePEM(f.caCert, "CERTIFICATE", caDER); err != nil {
		return f, err
	}
	leaf := func(serial int64, subject pkix.Name, usage x509.ExtKeyUsage, certFile, keyFile string) error {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: subject,
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		}
		if usage == x509.ExtKeyUsageServerAuth {
			tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
			tmpl.DNSNames = []string{"localhost", "kubernetes", "kubernetes.default.svc"}
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			return err
		}
		keyDER, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return err
		}
		if err := writePEM(certFile, "CERTIFICATE", der); err != nil {
			return err
		}
		return writePEM(keyFile, "EC PRIVATE KEY", keyDER)
	}
	if err := leaf(2, pkix.Name{CommonName: "kube-apiserver"}, x509.ExtKeyUsageServerAuth, f.serverCert, f.serverKey); err != nil {
		return f, err
	}
	if err := leaf(3, pkix.Name{CommonName: "stepup-test-admin", Organization: []string{"system:masters"}}, x509.ExtKeyUsageClientAuth, f.clientCert, f.clientKey); err != nil {
		return f, err
	}
	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return f, err
	}
	saDER, err := x509.MarshalECPrivateKey(saKey)
	if err != nil {
		return f, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return f, err
	}
	if err := writePEM(f.saPrivate, "EC PRIVATE KEY", saDER); err != nil {
		return f, err
	}
	return f, writePEM(f.saPublic, "PUBLIC KEY", pubDER)
}

func writePEM(file, typ string, der []byte) error {
	return os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}
