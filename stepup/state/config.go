package state

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// Config chooses where the shared state lives.
type Config struct {
	// Backend is `memory` (this process only: what a single instance
	// needs) or `redis` (a Redis or Valkey server shared by every replica).
	// Default: `memory`.
	Backend string `json:"backend,omitempty"`

	// Addresses are the server's host:port; several name a cluster's seed
	// nodes. Required for `redis`.
	Addresses []string `json:"addresses,omitempty"`

	// Username and Password authenticate to the server (ACL user, or the
	// password alone for requirepass). Use placeholders such as
	// `{env.REDIS_PASSWORD}` or `{file./run/secrets/redis}`.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`

	// DB selects a database number on a standalone server. Default: 0.
	DB int `json:"db,omitempty"`

	// TLS connects over TLS. Default: plain TCP.
	TLS *TLSConfig `json:"tls,omitempty"`

	// KeyPrefix starts every key stepup writes, so several deployments
	// can share one server. Default: `stepup:`.
	KeyPrefix string `json:"key_prefix,omitempty"`

	// DialTimeout bounds connecting to the server. Default: 2s.
	DialTimeout caddy.Duration `json:"dial_timeout,omitempty"`

	// Timeout bounds each command. Default: 500ms.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	// OnOutage is what protected routes do while the server is
	// unreachable for the uses that cannot be decided locally (a fresh
	// `max_age 0` pass, the revocation list being current): `closed`
	// refuses with 503 and Retry-After, `open` lets them through on this
	// replica's own knowledge. Frequency counts always fall back to local
	// counts. Default: `closed`.
	OnOutage string `json:"on_outage,omitempty"`
}

// TLSConfig configures TLS to the server.
type TLSConfig struct {
	// ServerName overrides the name checked in the server's certificate.
	// Default: the host of the first address.
	ServerName string `json:"server_name,omitempty"`

	// CAFile is a PEM file of the CAs to trust. Default: the system roots.
	CAFile string `json:"ca_file,omitempty"`

	config *tls.Config
}

// Defaults.
const (
	BackendMemory = "memory"
	BackendRedis  = "redis"

	defaultPrefix      = "stepup:"
	defaultDialTimeout = 2 * time.Second
	defaultTimeout     = 500 * time.Millisecond
)

// FailOpen reports whether protected routes pass on local knowledge while
// the store is unreachable.
func (c *Config) FailOpen() bool { return c != nil && c.OnOutage == "open" }

func (c *Config) applyDefaults() {
	if c.Backend == "" {
		c.Backend = BackendMemory
	}
	if c.KeyPrefix == "" {
		c.KeyPrefix = defaultPrefix
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = caddy.Duration(defaultDialTimeout)
	}
	if c.Timeout == 0 {
		c.Timeout = caddy.Duration(defaultTimeout)
	}
	if c.OnOutage == "" {
		c.OnOutage = "closed"
	}
}

// Validate checks the configuration; every error names the field and the fix.
func (c *Config) Validate() error {
	switch c.Backend {
	case "", BackendMemory:
		if len(c.Addresses) > 0 || c.Username != "" || c.Password != "" || c.TLS != nil {
			return errors.New("state: addresses, username, password and tls apply to the redis backend; remove them or set backend redis")
		}
	case BackendRedis:
		if len(c.Addresses) == 0 {
			return errors.New("state: the redis backend needs at least one address (host:port)")
		}
		for _, a := range c.Addresses {
			host, port, err := net.SplitHostPort(a)
			if err != nil || host == "" || port == "" {
				return fmt.Errorf("state address: %q is not host:port", a)
			}
			if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
				return fmt.Errorf("state address: %q has no valid port", a)
			}
		}
	default:
		return fmt.Errorf("state backend: %q is not one of memory, redis", c.Backend)
	}
	switch c.OnOutage {
	case "", "closed", "open":
	default:
		return fmt.Errorf("state on_outage: %q is not one of closed, open", c.OnOutage)
	}
	if c.DB < 0 {
		return fmt.Errorf("state db: %d is negative", c.DB)
	}
	if c.DialTimeout < 0 || c.Timeout < 0 {
		return errors.New("state dial_timeout and timeout must be positive durations")
	}
	if strings.ContainsAny(c.KeyPrefix, " \t\r\n{}") {
		return fmt.Errorf("state key_prefix: %q must not contain spaces or braces", c.KeyPrefix)
	}
	return nil
}

// buildTLS reads the CA file; called at provision for the redis backend.
func (t *TLSConfig) build(firstAddr string) error {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if cfg.ServerName == "" {
		host, _, _ := net.SplitHostPort(firstAddr)
		cfg.ServerName = host
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return fmt.Errorf("state tls ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("state tls ca_file: %q holds no PEM certificate", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	t.config = cfg
	return nil
}

// UnmarshalCaddyfile reads the `state` subdirective. Syntax:
//
//	state memory
//	state redis <host:port...> {
//	    username     <name>
//	    password     <secret or {env.VAR} / {file.path}>
//	    db           <n>
//	    tls          [<server_name>]
//	    tls_ca       <pem file>
//	    key_prefix   <prefix>
//	    dial_timeout <duration>
//	    timeout      <duration>
//	    on_outage    closed|open
//	}
//
// The dispenser is on the `state` token.
func (c *Config) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	if !d.NextArg() {
		return d.Err("state: name a backend: state memory, or state redis <host:port>")
	}
	c.Backend = d.Val()
	switch c.Backend {
	case BackendMemory:
		if d.NextArg() {
			return d.Errf("state memory: unexpected argument %q", d.Val())
		}
	case BackendRedis:
		c.Addresses = d.RemainingArgs()
		if len(c.Addresses) == 0 {
			return d.Err("state redis: name the server: state redis <host:port>")
		}
	default:
		return d.Errf("state: backend %q is not one of memory, redis", c.Backend)
	}
	seen := map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key := d.Val()
		if seen[key] {
			return d.Errf("state: %s is set twice; keep one", key)
		}
		seen[key] = true
		if c.Backend == BackendMemory {
			return d.Errf("state memory: takes no settings, got %q", key)
		}
		args := d.RemainingArgs()
		one := func() (string, error) {
			if len(args) != 1 {
				return "", d.Errf("state: %s takes one value, got %d", key, len(args))
			}
			return args[0], nil
		}
		var err error
		var v string
		switch key {
		case "username":
			c.Username, err = one()
		case "password":
			c.Password, err = one()
		case "db":
			if v, err = one(); err == nil {
				if c.DB, err = strconv.Atoi(v); err != nil {
					return d.Errf("state db: %q is not a number", v)
				}
			}
		case "tls":
			if len(args) > 1 {
				return d.Errf("state tls: takes at most a server name, got %d values", len(args))
			}
			if c.TLS == nil {
				c.TLS = new(TLSConfig)
			}
			if len(args) == 1 {
				c.TLS.ServerName = args[0]
			}
		case "tls_ca":
			if c.TLS == nil {
				c.TLS = new(TLSConfig)
			}
			c.TLS.CAFile, err = one()
		case "key_prefix":
			c.KeyPrefix, err = one()
		case "dial_timeout", "timeout":
			if v, err = one(); err == nil {
				dur, perr := caddy.ParseDuration(v)
				if perr != nil || dur <= 0 {
					return d.Errf("state %s: %q is not a positive duration", key, v)
				}
				if key == "timeout" {
					c.Timeout = caddy.Duration(dur)
				} else {
					c.DialTimeout = caddy.Duration(dur)
				}
			}
		case "on_outage":
			if v, err = one(); err == nil {
				if v != "closed" && v != "open" {
					return d.Errf("state on_outage: %q is not one of closed, open", v)
				}
				c.OnOutage = v
			}
		default:
			return d.Errf("state: unknown setting %q", key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
