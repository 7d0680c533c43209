package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/caddy-stepup/caddy-stepup/internal/freeport"
)

// loginsConfig is what `stepup-bench logins` is told.
type loginsConfig struct {
	caddy       string
	oauth2Proxy string
	out         string
	logins      int
	rounds      int
	conns       int
	serverCPU   string
	clientCPU   string
	pprof       bool
}

// loginTarget is one server under test with one OP: stepup in Caddy or
// oauth2-proxy, with RS256 or ES256 ID tokens.
type loginTarget struct {
	name, alg string
	port      int
	adminPort int // Caddy only, for the profile
	cmd       *exec.Cmd
	opIssuer  string
	opPID     int
	start     string // the URL that starts a login
	callback  string // the callback path
	cookie    string // the session cookie's name
	runs      []loginRun
}

// loginRun is one measured batch of callbacks.
type loginRun struct {
	perSec      float64 // logins per second of wall time, server on one core
	perCoreSec  float64 // logins per second of the server's CPU time
	cpuPerLogin float64 // µs of server CPU per login
	opPerLogin  float64 // µs of the OP's CPU per login (context)
}

// pending is a login up to the IdP's answer: what the browser holds when
// it follows the redirect to the callback.
type pending struct {
	cookie   string
	callback string
}

// runLogins measures the callback path (issue 19 item 5): the state check,
// the code exchange with the OP, the ID token's verification and the
// session cookie written, for stepup and for oauth2-proxy against the same
// OP. Logins are prepared up to the IdP's redirect outside the measurement
// (the start request and the OP's authorization), then the callbacks alone
// are sent by a few concurrent clients while the server's CPU time is read
// from /proc: logins per second of server CPU is logins per second per core.
func runLogins(args []string) error {
	var c loginsConfig
	fs := flag.NewFlagSet("logins", flag.ExitOnError)
	fs.StringVar(&c.caddy, "caddy", "bin/caddy", "Caddy binary with the stepup plugin")
	fs.StringVar(&c.oauth2Proxy, "oauth2-proxy", "", "oauth2-proxy binary (scripts/build-oauth2-proxy); empty: stepup only")
	fs.StringVar(&c.out, "out", "artifacts/bench", "output directory")
	fs.IntVar(&c.logins, "logins", 500, "callbacks per target per round")
	fs.IntVar(&c.rounds, "rounds", 5, "interleaved rounds")
	fs.IntVar(&c.conns, "connections", 4, "concurrent clients sending callbacks")
	fs.StringVar(&c.serverCPU, "server-cpu", "0", "CPU list for the servers under test (taskset)")
	fs.StringVar(&c.clientCPU, "client-cpu", "1", "CPU list for the OPs (taskset)")
	fs.BoolVar(&c.pprof, "pprof", false, "after the rounds, save a CPU profile of stepup's callbacks per alg to OUT/profiles/")
	fs.Parse(args)
	if err := absPaths(&c.caddy, &c.out, &c.oauth2Proxy); err != nil {
		return err
	}
	work := filepath.Join(c.out, "logins-work")
	if err := freshDir(work); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// One OP per alg, each its own process on the client CPU, so its
	// signing does not count as the server's.
	ops := map[string]*exec.Cmd{}
	issuers := map[string]string{}
	for _, alg := range []string{"RS256", "ES256"} {
		port := freeport.Port()
		cmd, err := startPinned(ctx, c.clientCPU, filepath.Join(work, "op-"+alg+".log"), nil, self, "op", "-alg", alg, "-addr", addr(port))
		if err != nil {
			return err
		}
		defer stop(cmd)
		if err := waitListening(port, 10*time.Second); err != nil {
			return err
		}
		ops[alg], issuers[alg] = cmd, site(port)
	}

	var targets []*loginTarget
	for _, alg := range []string{"RS256", "ES256"} {
		targets = append(targets, &loginTarget{name: "stepup", alg: alg})
		if c.oauth2Proxy != "" {
			targets = append(targets, &loginTarget{name: "oauth2-proxy", alg: alg})
		}
	}
	for _, t := range targets {
		t.opIssuer, t.opPID = issuers[t.alg], ops[t.alg].Process.Pid
		if err := t.startServer(ctx, &c, work); err != nil {
			return err
		}
		defer stop(t.cmd)
	}
	for _, t := range targets {
		if err := waitListening(t.port, 20*time.Second); err != nil {
			return fmt.Errorf("%s %s: %w (see %s)", t.name, t.alg, err, work)
		}
		// One whole login first: checks the target is on the path and warms
		// discovery and the JWKS, which are not the callback's cost.
		if err := t.warm(); err != nil {
			return err
		}
	}

	before := loadAvg()
	for round := range c.rounds {
		batches := make([][]pending, len(targets))
		for i, t := range targets {
			if batches[i], err = t.prepare(c.logins); err != nil {
				return err
			}
		}
		for i := range targets {
			j := (i + round) % len(targets)
			t := targets[j]
			r, err := t.measure(&c, batches[j])
			if err != nil {
				return err
			}
			t.runs = append(t.runs, r)
			fmt.Fprintf(os.Stderr, "stepup-bench: logins round %d/%d %-12s %s %7.0f logins/s per core (%6.0f µs CPU each; OP %5.0f µs), %6.0f/s wall\n",
				round+1, c.rounds, t.name, t.alg, r.perCoreSec, r.cpuPerLogin, r.opPerLogin, r.perSec)
		}
	}
	after := loadAvg()
	if c.pprof {
		for _, t := range targets {
			if t.adminPort != 0 {
				if err := t.profile(&c); err != nil {
					return err
				}
			}
		}
	}
	return writeReport(c.out, "logins.md", loginsReport(&c, targets, before, after))
}

func (t *loginTarget) startServer(ctx context.Context, c *loginsConfig, work string) error {
	t.port = freeport.Port()
	dir := filepath.Join(work, t.name+"-"+t.alg)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(dir, "server.log")
	var err error
	switch t.name {
	case "stepup":
		t.adminPort = freeport.Port()
		t.start, t.callback, t.cookie = site(t.port)+"/admin/dashboard", "/.stepup/callback", "stepup"
		cf := fmt.Sprintf(`{
	admin %s
	persist_config off
	auto_https off
	storage file_system %s/storage
	log {
		level WARN
	}
}

http://127.0.0.1:%d {
	bind 127.0.0.1
	stepup {
%s	}
	respond "ok"
}
`, addr(t.adminPort), dir, t.port, stepupLogin(t.opIssuer))
		path := filepath.Join(dir, "Caddyfile")
		if err := os.WriteFile(path, []byte(cf), 0o644); err != nil {
			return err
		}
		env := []string{"HOME=" + dir, "XDG_DATA_HOME=" + dir + "/data", "XDG_CONFIG_HOME=" + dir + "/config"}
		t.cmd, err = startPinned(ctx, c.serverCPU, logPath, env, c.caddy, "run", "--config", path, "--adapter", "caddyfile")
	case "oauth2-proxy":
		// Its defaults plus what a loopback http site needs; a cookie
		// session (its default store) like stepup's, no upstream call.
		t.start, t.callback, t.cookie = site(t.port)+"/oauth2/start?rd=%2Fadmin%2Fdashboard", "/oauth2/callback", "_oauth2_proxy"
		t.cmd, err = startPinned(ctx, c.serverCPU, logPath, nil, c.oauth2Proxy,
			"--provider=oidc", "--oidc-issuer-url="+t.opIssuer,
			"--client-id=bench", "--client-secret=bench-secret",
			"--cookie-secret=0123456789abcdef0123456789abcdef", "--cookie-secure=false",
			"--email-domain=*", "--http-address="+addr(t.port),
			"--redirect-url="+site(t.port)+"/oauth2/callback",
			"--upstream=static://200", "--skip-provider-button",
			"--request-logging=false", "--auth-logging=false")
	}
	return err
}
