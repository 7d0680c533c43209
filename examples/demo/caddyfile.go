package main

import (
	_ "embed"
	"fmt"
	"strings"
	"text/template"
	"time"
)

// caddyfileTemplate is ./Caddyfile, kept as a file so it can be read (and
// copied) on its own.
//
//go:embed Caddyfile
var caddyfileTemplate string

// caddyfileData fills the template.
type caddyfileData struct {
	Port           int // the site the browser opens
	InnerPort      int // the protected site, risk enforced
	ReportPort     int // the protected site, risk in report-only mode
	MetricsPort    int // Caddy's /metrics, for the panel
	Bind           string
	StorageDir     string
	Issuer         string
	ClientID       string
	Backend        string
	Panel          string // host:port of the decision panel
	TransferMaxAge string
	SettingsMaxAge string
	LevelFormat    string // color on a terminal, upper in files and pipes

	AuditLog  string // stepup's audit events, JSON lines
	AccessLog string // the protected sites' access log, JSON lines

	// The network simulator: the address it connects from (the only one
	// trusted for X-Demo-Client-IP) and the addresses it can claim.
	Simulator string
	HomeIP    string
	AbroadIP  string
	BlockedIP string
	Blocklist string // ip_reputation list file
	CityDB    string // location databases; empty leaves location out
	ASNDB     string
}

// clientSecretEnv carries the client secret to Caddy, so it is never
// written into the Caddyfile.
const clientSecretEnv = "STEPUP_DEMO_CLIENT_SECRET"

func renderCaddyfile(d caddyfileData) (string, error) {
	t, err := template.New("Caddyfile").Option("missingkey=error").Parse(caddyfileTemplate)
	if err != nil {
		return "", fmt.Errorf("caddyfile template: %w", err)
	}
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", fmt.Errorf("caddyfile template: %w", err)
	}
	return b.String(), nil
}

// shortDuration writes 2m rather than 2m0s: it reads better in the Caddyfile
// and on the pages, and Caddy parses both.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
