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
	Port           int
	Bind           string
	StorageDir     string
	Issuer         string
	ClientID       string
	Backend        string
	TransferMaxAge string
	SettingsMaxAge string
	LevelFormat    string // color on a terminal, upper in files and pipes
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
