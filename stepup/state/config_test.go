package state

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func TestStateCaddyfile(t *testing.T) {
	for _, tc := range []struct {
		name, in, err string
		check         func(*Config) bool
	}{
		{name: "memory", in: "state memory", check: func(c *Config) bool { return c.Backend == BackendMemory }},
		{name: "redis with settings", in: "state redis 10.0.0.1:6379 10.0.0.2:6379 {\n username u\n password {env.P}\n tls redis.internal\n tls_ca /ca.pem\n key_prefix app1:\n timeout 250ms\n dial_timeout 1s\n on_outage open\n db 2\n}",
			check: func(c *Config) bool {
				return len(c.Addresses) == 2 && c.Username == "u" && c.Password == "{env.P}" && c.TLS.ServerName == "redis.internal" &&
					c.TLS.CAFile == "/ca.pem" && c.KeyPrefix == "app1:" && c.FailOpen() && c.DB == 2
			}},
		{name: "no backend", in: "state", err: "name a backend"},
		{name: "unknown backend", in: "state etcd", err: `backend "etcd"`},
		{name: "redis without address", in: "state redis", err: "name the server"},
		{name: "memory with settings", in: "state memory {\n key_prefix x\n}", err: "takes no settings"},
		{name: "unknown setting", in: "state redis h:1 {\n pool 3\n}", err: `unknown setting "pool"`},
		{name: "repeated setting", in: "state redis h:1 {\n timeout 1s\n timeout 2s\n}", err: "set twice"},
		{name: "bad outage mode", in: "state redis h:1 {\n on_outage maybe\n}", err: `on_outage: "maybe"`},
		{name: "bad timeout", in: "state redis h:1 {\n timeout -1s\n}", err: "positive duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := caddyfile.NewTestDispenser(tc.in)
			d.Next()
			var c Config
			err := c.UnmarshalCaddyfile(d)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v; want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(&c) {
				t.Fatalf("parsed %+v", c)
			}
		})
	}
}

func TestStateValidateNamesTheFieldAndTheFix(t *testing.T) {
	for _, tc := range []struct {
		c   Config
		err string
	}{
		{Config{Backend: "redis"}, "needs at least one address"},
		{Config{Backend: "redis", Addresses: []string{"nohost"}}, `"nohost" is not host:port`},
		{Config{Backend: "redis", Addresses: []string{"h:99999"}}, "no valid port"},
		{Config{Backend: "memory", Addresses: []string{"h:1"}}, "apply to the redis backend"},
		{Config{Backend: "redis", Addresses: []string{"h:1"}, KeyPrefix: "a b"}, "key_prefix"},
		{Config{Backend: "consul"}, `"consul" is not one of memory, redis`},
	} {
		if err := tc.c.Validate(); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%+v: error %v; want %q", tc.c, err, tc.err)
		}
	}
	ok := Config{Backend: "redis", Addresses: []string{"[::1]:6379"}}
	if err := ok.Validate(); err != nil {
		t.Errorf("valid config refused: %v", err)
	}
}
