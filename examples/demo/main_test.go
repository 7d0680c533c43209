package main

import (
	"io"
	"strings"
	"testing"
	"time"
)

func TestOptionsRefuseWhatCannotWork(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"two parts on one port", []string{"--port", "9400"}, "must differ"},
		{"a port out of range", []string{"--idp-port", "70000"}, "not a TCP port"},
		{"a max_age below a second", []string{"--transfer-max-age", "500ms"}, "whole seconds"},
		{"a max_age with a fraction", []string{"--settings-max-age", "1.5s"}, "whole seconds"},
		{"a stray argument", []string{"now"}, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseOptions(tt.args, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func TestCaddyfileCarriesTheFlags(t *testing.T) {
	o, err := parseOptions([]string{"--port", "18443", "--idp-port", "19400", "--backend-port", "19401",
		"--data-dir", "/tmp/demo data", "--transfer-max-age", "4s", "--settings-max-age", "90s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := renderCaddyfile(o.caddyfileData())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"https://localhost:18443 {",
		"issuer http://127.0.0.1:19400",
		"reverse_proxy 127.0.0.1:19401",
		`storage file_system "/tmp/demo data/caddy"`,
		"max_age 4s",
		"max_age 1m30s",
		"insecure_loopback_http",
		"client_secret {env." + clientSecretEnv + "}",
		// The simulator's trust boundary, the panel's inputs, the demo's openness.
		"trusted_proxies static " + simulatorAddr + "/32",
		"local_address " + simulatorAddr,
		"log stepup_audit {",
		"log_append risk_reasons {http.stepup.risk.reasons}",
		"log_subjects",
		"report_only",
		"frame-ancestors 'none'",
		"Strict-Transport-Security",
		"grace_period 3s",
	} {
		if !strings.Contains(cf, want) {
			t.Errorf("rendered Caddyfile lacks %q", want)
		}
	}
	if strings.Contains(cf, "{{") {
		t.Error("rendered Caddyfile still has template fields")
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		4 * time.Second: "4s", 2 * time.Minute: "2m", 90 * time.Second: "1m30s", time.Hour: "1h", 2*time.Hour + time.Second: "2h0m1s",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
