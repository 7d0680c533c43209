package stepup

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// assertionBlock parses `assertion { ... }` (see UnmarshalCaddyfile).
func assertionBlock(d *caddyfile.Dispenser, c *AssertionConfig) error {
	if d.NextArg() {
		return d.Errf("stepup: assertion: unexpected argument %q; settings go in the block", d.Val())
	}
	seen := map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		key := d.Val()
		if seen[key] {
			return d.Errf("stepup: assertion: %s is set twice", key)
		}
		seen[key] = true
		switch key {
		case "audience":
			if err := oneArg(d, &c.Audience); err != nil {
				return err
			}
		case "header":
			if err := oneArg(d, &c.Header); err != nil {
				return err
			}
		case "issuer":
			if err := oneArg(d, &c.Issuer); err != nil {
				return err
			}
		case "jwks_path":
			if err := oneArg(d, &c.JWKSPath); err != nil {
				return err
			}
		case "lifetime":
			if err := positiveDuration(d, "assertion", "30s", &c.Lifetime); err != nil {
				return err
			}
		case "key_rotation":
			if err := positiveDuration(d, "assertion", "30s", &c.KeyRotation); err != nil {
				return err
			}
		case "disable_nonce_pool":
			if err := flagArg(d, &c.DisableNoncePool); err != nil {
				return err
			}
		default:
			return d.Errf("stepup: assertion: unknown subdirective %q (use audience, header, lifetime, issuer, jwks_path, key_rotation, disable_nonce_pool)", key)
		}
	}
	if c.Audience == "" {
		return d.Err("stepup: assertion: audience is required (who the assertion is for, e.g. the upstream's URL)")
	}
	return nil
}
