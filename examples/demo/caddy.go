package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/caddy-stepup/caddy-stepup/internal/childproc"
)

// caddyProcess is bin/caddy running the rendered Caddyfile.
type caddyProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set when done is closed
}

// startCaddy runs `caddy run` on config. Caddy's data and config homes
// point into dataDir, so nothing is written to the user's home directory.
func startCaddy(bin, config, dataDir string, env []string, logs io.Writer) (*caddyProcess, error) {
	cmd := exec.Command(bin, "run", "--config", config, "--adapter", "caddyfile")
	cmd.Dir = dataDir
	cmd.Env = append(os.Environ(),
		"XDG_DATA_HOME="+dataDir,
		"XDG_CONFIG_HOME="+filepath.Join(dataDir, "config"),
	)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	p := &caddyProcess{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// stop asks Caddy to shut down gracefully (SIGTERM), and kills it if it
// has not exited within grace.
func (p *caddyProcess) stop(grace time.Duration) error {
	if childproc.Stop(p.cmd.Process, p.done, grace) {
		return errors.New("caddy did not stop in time and was killed")
	}
	return nil
}

// waitReady polls the site over HTTPS, trusting only Caddy's local CA,
// until it answers; Caddy creates the CA and the certificate on its own
// schedule, so there is nothing better to wait for.
func waitReady(ctx context.Context, p *caddyProcess, siteURL, rootCA string, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var last error
	for {
		if pool, err := loadRoot(rootCA); err != nil {
			last = err
		} else {
			client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
			resp, err := client.Get(siteURL + "/")
			client.CloseIdleConnections()
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					return nil
				}
				err = fmt.Errorf("GET / answered %s", resp.Status)
			}
			last = err
		}
		select {
		case <-p.done:
			return fmt.Errorf("caddy exited: %v", p.err)
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("caddy did not answer within %s: %v", limit, last)
			}
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func loadRoot(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no certificate", path)
	}
	return pool, nil
}
