package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// options are the demo's command-line flags.
type options struct {
	caddy          string
	port           int
	idpPort        int
	backendPort    int
	dataDir        string
	codeFile       string
	transferMaxAge time.Duration
	settingsMaxAge time.Duration
	printCaddyfile bool

	// Chosen at start, not flags: ports of Caddy's internal sites and of
	// the panel, and the generated location databases.
	innerPort, reportPort, metricsPort, panelPort int
	cityDB, asnDB                                 string
	ageToken                                      string // the panel's "age my sign-in" form
}

func parseOptions(args []string, stderr io.Writer) (*options, error) {
	o := &options{}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: go run . [flags]   (or `make demo` at the repository root)\n\n"+
			"Runs an OpenID Provider, a sample app and Caddy with the stepup handler, on this machine only.\n\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&o.caddy, "caddy", "", "Caddy binary built with the stepup plugin (default: $STEPUP_CADDY, else ../../bin/caddy, else caddy on PATH)")
	fs.IntVar(&o.port, "port", 8443, "HTTPS port of the demo site, https://localhost:<port>")
	fs.IntVar(&o.idpPort, "idp-port", 9400, "port of the OpenID Provider, http://127.0.0.1:<port>")
	fs.IntVar(&o.backendPort, "backend-port", 9401, "port of the sample app behind Caddy, http://127.0.0.1:<port>")
	fs.StringVar(&o.dataDir, "data-dir", ".demo-data", "directory for Caddy's storage (local CA, certificates, cookie keys) and the rendered Caddyfile; kept between runs so you trust the CA once")
	fs.StringVar(&o.codeFile, "code-file", "", "also write each one-time code to this file (for tests)")
	fs.DurationVar(&o.transferMaxAge, "transfer-max-age", 2*time.Minute, "how recent a sign-in POST /transfer needs")
	fs.DurationVar(&o.settingsMaxAge, "settings-max-age", 5*time.Minute, "how recent a sign-in /settings needs")
	fs.BoolVar(&o.printCaddyfile, "print-caddyfile", false, "print the Caddyfile the demo would run, and exit")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q; all settings are flags", fs.Arg(0))
	}
	for name, p := range map[string]int{"--port": o.port, "--idp-port": o.idpPort, "--backend-port": o.backendPort} {
		if p <= 0 || p > 65535 {
			return nil, fmt.Errorf("%s %d: not a TCP port", name, p)
		}
	}
	if o.port == o.idpPort || o.port == o.backendPort || o.idpPort == o.backendPort {
		return nil, errors.New("--port, --idp-port and --backend-port must differ")
	}
	for name, d := range map[string]time.Duration{"--transfer-max-age": o.transferMaxAge, "--settings-max-age": o.settingsMaxAge} {
		if d < time.Second || d%time.Second != 0 {
			return nil, fmt.Errorf("%s %s: use whole seconds, at least 1s (the IdP's max_age is in seconds)", name, d)
		}
	}
	abs, err := filepath.Abs(o.dataDir)
	if err != nil {
		return nil, err
	}
	o.dataDir = abs
	if o.codeFile != "" {
		if o.codeFile, err = filepath.Abs(o.codeFile); err != nil {
			return nil, err
		}
	}
	return o, nil
}

// findCaddy resolves --caddy. A Caddy without the plugin would fail on the
// `stepup` directive, so the repository's own build comes before PATH.
func (o *options) findCaddy() (string, error) {
	candidates := []string{o.caddy}
	if o.caddy == "" {
		candidates = []string{os.Getenv("STEPUP_CADDY"), filepath.Join("..", "..", "bin", "caddy")}
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if fi, err := os.Stat(c); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return filepath.Abs(c)
		}
		if o.caddy != "" {
			return "", fmt.Errorf("--caddy %s: not an executable file", o.caddy)
		}
	}
	if p, err := exec.LookPath("caddy"); err == nil {
		return p, nil
	}
	return "", errors.New("no Caddy binary with the stepup plugin: run `make build` at the repository root, or pass --caddy")
}
