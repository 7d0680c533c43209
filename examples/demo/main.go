// Command demo lets you watch caddy-stepup demand a step-up in a browser,
// with nothing to set up: it runs, on this machine only,
//
//   - an OpenID Provider (internal/idp, built on zitadel/oidc) with two users,
//     a password step (acr urn:stepup:pwd) and a one-time code step
//     (urn:stepup:mfa) whose codes are printed on this console;
//   - a sample app (internal/backend): a tiny bank with an admin console,
//     settings, a money transfer and a JSON API;
//   - Caddy (bin/caddy, built with the plugin) on https://localhost:8443 with
//     the stepup handler in front of the app (./Caddyfile).
//
// Run it with `make demo` at the repository root, or `go run . --help` here.
package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/caddy-stepup/caddy-stepup/examples/demo/internal/backend"
	"github.com/caddy-stepup/caddy-stepup/examples/demo/internal/idp"
	"github.com/caddy-stepup/caddy-stepup/examples/demo/internal/panel"
	"github.com/caddy-stepup/caddy-stepup/internal/freeport"
	"github.com/caddy-stepup/caddy-stepup/verify"
)

// clientID is the relying party Caddy is registered as at the demo IdP.
const clientID = "caddy-stepup-demo"

func main() {
	o, err := parseOptions(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(2)
	}
	if o.printCaddyfile {
		// The internal ports are picked when the demo starts; show
		// neighbours of --port rather than zeros.
		o.innerPort, o.reportPort, o.metricsPort, o.panelPort = o.port+1, o.port+2, o.port+3, o.port+4
		o.cityDB, o.asnDB = filepath.Join(o.riskDir(), "City.mmdb"), filepath.Join(o.riskDir(), "ASN.mmdb")
		cf, err := renderCaddyfile(o.caddyfileData())
		if err != nil {
			fmt.Fprintln(os.Stderr, "demo:", err)
			os.Exit(1)
		}
		fmt.Print(cf)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, &console{out: os.Stdout}); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func (o *options) siteURL() string { return "https://localhost:" + strconv.Itoa(o.port) }
func (o *options) issuer() string  { return "http://127.0.0.1:" + strconv.Itoa(o.idpPort) }
func (o *options) backend() string { return "127.0.0.1:" + strconv.Itoa(o.backendPort) }

// storageDir is Caddy's storage; with XDG_DATA_HOME at the data directory
// it is also where Caddy would put it by default.
func (o *options) storageDir() string { return filepath.Join(o.dataDir, "caddy") }
func (o *options) rootCA() string {
	return filepath.Join(o.storageDir(), "pki", "authorities", "local", "root.crt")
}

func (o *options) caddyfileData() caddyfileData {
	return caddyfileData{
		Port:           o.port,
		InnerPort:      o.innerPort,
		ReportPort:     o.reportPort,
		MetricsPort:    o.metricsPort,
		Bind:           loopbackBind(),
		StorageDir:     o.storageDir(),
		Issuer:         o.issuer(),
		ClientID:       clientID,
		Backend:        o.backend(),
		Panel:          "127.0.0.1:" + strconv.Itoa(o.panelPort),
		TransferMaxAge: shortDuration(o.transferMaxAge),
		SettingsMaxAge: shortDuration(o.settingsMaxAge),
		LevelFormat:    levelFormat(),
		AuditLog:       o.auditLog(),
		AccessLog:      o.accessLog(),
		Simulator:      simulatorAddr,
		HomeIP:         homeIP,
		AbroadIP:       abroadIP,
		BlockedIP:      blockedIP,
		Blocklist:      o.blocklist(),
		CityDB:         o.cityDB,
		ASNDB:          o.asnDB,
	}
}

func (o *options) logDir() string    { return filepath.Join(o.dataDir, "logs") }
func (o *options) auditLog() string  { return filepath.Join(o.logDir(), "stepup-audit.json") }
func (o *options) accessLog() string { return filepath.Join(o.logDir(), "access.json") }
func (o *options) riskDir() string   { return filepath.Join(o.dataDir, "risk") }
func (o *options) blocklist() string { return filepath.Join(o.riskDir(), "blocklist.txt") }

// levelFormat keeps colour codes out of logs that are not read on a terminal.
func levelFormat() string {
	if fi, err := os.Stdout.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		return "color"
	}
	return "upper"
}

// loopbackBind keeps Caddy off the network: 127.0.0.1, and ::1 where the
// machine has IPv6 (browsers may try either for "localhost").
func loopbackBind() string {
	if l, err := net.Listen("tcp", "[::1]:0"); err == nil {
		l.Close()
		return "127.0.0.1 [::1]"
	}
	return "127.0.0.1"
}

// run starts the three parts, waits for Ctrl-C or SIGTERM, and stops them.
func run(ctx context.Context, o *options, con *console) error {
	caddyBin, err := o.findCaddy()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(o.dataDir, 0o700); err != nil {
		return err
	}
	// Take the ports before starting anything, so a busy one fails clearly.
	idpLn, err := listen(o.idpPort, "--idp-port")
	if err != nil {
		return err
	}
	appLn, err := listen(o.backendPort, "--backend-port")
	if err != nil {
		idpLn.Close()
		return err
	}
	siteLn, err := listen(o.port, "--port")
	if err != nil {
		idpLn.Close()
		appLn.Close()
		return err
	}
	siteLn.Close() // only checked: Caddy binds it
	panelLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		idpLn.Close()
		appLn.Close()
		return err
	}
	o.panelPort = panelLn.Addr().(*net.TCPAddr).Port
	// Caddy's internal sites take free ports of their own.
	internal, err := freeport.Pick(3)
	if err != nil {
		return err
	}
	o.innerPort, o.reportPort, o.metricsPort = internal[0], internal[1], internal[2]
	if err := prepareRiskData(o); err != nil {
		return err
	}

	idpLog, appLog, caddyLog := con.source("idp"), con.source("app"), con.source("caddy")
	slog.SetDefault(slog.New(slog.NewTextHandler(idpLog, nil))) // zitadel/oidc logs through slog
	secret := rand.Text()
	o.ageToken = rand.Text()
	provider, err := idp.New(idp.Config{
		Issuer: o.issuer(),
		Client: idp.ClientConfig{
			ID:                     clientID,
			Secret:                 secret,
			RedirectURIs:           []string{o.siteURL() + "/.stepup/callback"},
			PostLogoutRedirectURIs: []string{o.siteURL() + "/?signed-out"},
		},
		Users:       idp.DemoUsers(),
		DeliverCode: codeDelivery{log: idpLog, file: o.codeFile}.deliver,
		Logf:        idpLog.printf,
		DemoSite:    o.siteURL(),
		DemoToken:   o.ageToken,
	})
	if err != nil {
		idpLn.Close()
		appLn.Close()
		return err
	}
	// The app checks Caddy's signed assertions against the keys the
	// protected site publishes (both protected sites share them).
	verifier, err := verify.New(verify.Options{
		JWKSURL:  "https://localhost:" + strconv.Itoa(o.innerPort) + "/.well-known/stepup-jwks.json",
		Issuer:   o.siteURL(),
		Audience: backend.Audience,
		Client:   backend.EdgeClient(o.rootCA()),
	})
	if err != nil {
		idpLn.Close()
		appLn.Close()
		return err
	}
	app := backend.New(backend.Config{
		Verifier:       verifier,
		MFA:            idp.ACRMFA,
		TransferMaxAge: shortDuration(o.transferMaxAge),
		SettingsMaxAge: shortDuration(o.settingsMaxAge),
		Logf:           appLog.printf,
	})
	cfPath := filepath.Join(o.dataDir, "Caddyfile")
	pnl := panel.New(panelConfig(o, caddyBin, cfPath))
	panelCtx, stopPanel := context.WithCancel(context.Background())
	defer stopPanel()
	go pnl.Run(panelCtx)
	servers := []*http.Server{serve(idpLn, provider, idpLog), serve(appLn, app, appLog), serve(panelLn, pnl, appLog)}
	defer shutdown(servers)
	idpLog.printf("OpenID Provider listening, issuer %s", o.issuer())
	appLog.printf("sample app listening on http://%s", o.backend())

	cf, err := renderCaddyfile(o.caddyfileData())
	if err != nil {
		return err
	}
	if err := os.WriteFile(cfPath, []byte(cf), 0o600); err != nil {
		return err
	}
	proc, err := startCaddy(caddyBin, cfPath, o.dataDir, []string{clientSecretEnv + "=" + secret}, caddyLog)
	if err != nil {
		return err
	}
	defer proc.stop(10 * time.Second)
	if err := waitReady(ctx, proc, o.siteURL(), o.rootCA(), time.Minute); err != nil {
		if ctx.Err() != nil {
			return nil // interrupted while starting
		}
		return err
	}
	printBanner(con, o, caddyBin, cfPath)

	select {
	case <-ctx.Done():
		con.printf("\nStopping…\n")
	case <-proc.done:
		return fmt.Errorf("caddy exited unexpectedly: %v (its log is above)", proc.err)
	}
	if err := proc.stop(10 * time.Second); err != nil {
		return err
	}
	shutdown(servers)
	con.printf("Stopped.\n")
	return nil
}

func listen(port int, flagName string) (net.Listener, error) {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("port %d is not free (choose another with %s): %w", port, flagName, err)
	}
	return l, nil
}

func serve(l net.Listener, h http.Handler, logs *sourceWriter) *http.Server {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(logs, "", 0)}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logs.printf("server stopped: %v", err)
		}
	}()
	return srv
}

// shutdown stops the servers, waiting briefly for requests in flight. It
// is safe to call twice.
func shutdown(servers []*http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(ctx)
	}
}
