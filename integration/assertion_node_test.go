package integration

import (
	"bufio"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/caddy-stepup/caddy-stepup/internal/rogueop"
	"github.com/caddy-stepup/caddy-stepup/verify"
)

// nodeExample is the Node.js upstream of examples/assertion/node.
const nodeExample = "../examples/assertion/node"

// startNodeBackend runs examples/assertion/node/server.mjs on a free
// loopback port (installing jose from npm's lock file when missing) and
// returns its URL. setEnv supplies the variables that need Caddy's port.
func startNodeBackend(t *testing.T, env []string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node not found: install nodejs (scripts/install-deps)")
	}
	if _, err := os.Stat(filepath.Join(nodeExample, "node_modules", "jose")); err != nil {
		out, err := exec.Command("npm", "ci", "--prefix", nodeExample, "--no-audit", "--no-fund").CombinedOutput()
		if err != nil {
			t.Fatalf("npm ci in %s: %v\n%s", nodeExample, err, out)
		}
	}
	cmd := exec.Command(node, "server.mjs")
	cmd.Dir = nodeExample
	cmd.Env = append(os.Environ(), append(env, "PORT=0")...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	port, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		t.Fatalf("node example did not start: %q %v", line, err)
	}
	return "http://127.0.0.1:" + port
}

func TestNodeUpstreamVerifiesCaddysAssertionWithJose(t *testing.T) {
	op := rogueop.Start(t, rogueop.Options{ClientID: edgeClientID, ClientSecret: edgeSecret})
	// Caddy needs the backend's address and the backend Caddy's: the
	// backend goes behind a forwarding stub until both are known.
	stub := startVerifiedBackend(t)
	c := assertionCaddy(t, op, stub.URL, "", "")
	backend := startNodeBackend(t, []string{
		"STEPUP_JWKS_URL=" + c.URL() + assertionJWKSPath, "STEPUP_ISSUER=" + c.URL(), "STEPUP_AUDIENCE=" + assertionAudience,
		"NODE_EXTRA_CA_CERTS=" + filepath.Join(c.StorageDir(), "pki", "authorities", "local", "root.crt"),
	})
	var proxy http.Handler = forwardTo(t, backend)
	stub.handler.Store(&proxy)

	e := &rogueEnv{op: op, caddy: c}
	b := c.Client()
	e.loginAs(t, b, "/admin", "alice", acrMFA)
	resp, body := api(t, b, "GET", c.URL()+"/admin/users?page=2")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"sub":"alice"`) || !strings.Contains(body, `"rule":"admin"`) {
		t.Fatalf("through Caddy to the Node upstream: %d %s", resp.StatusCode, truncate(body))
	}
	token := stub.lastAssertion()
	if code := direct(t, "GET", backend+"/admin/users", "X-User", "alice"); code != http.StatusUnauthorized {
		t.Fatalf("Node upstream reached directly with a forged header: %d", code)
	}
	if code := direct(t, "GET", backend+"/admin/other", verify.DefaultHeader, token); code != http.StatusUnauthorized {
		t.Fatalf("Node upstream accepted an assertion replayed on another path: %d", code)
	}
	if code := direct(t, "GET", backend+"/admin/users", verify.DefaultHeader, tamperSignature(token)); code != http.StatusUnauthorized {
		t.Fatalf("Node upstream accepted a tampered assertion: %d", code)
	}
}

// tamperSignature changes the first character of token's signature, whose
// six bits are all signature (the last character's are partly padding).
func tamperSignature(token string) string {
	i := strings.LastIndexByte(token, '.') + 1
	repl := "A"
	if token[i] == 'A' {
		repl = "B"
	}
	return token[:i] + repl + token[i+1:]
}

// forwardTo is a plain reverse proxy to target.
func forwardTo(t *testing.T, target string) http.Handler {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	return httputil.NewSingleHostReverseProxy(u)
}
