package stepup

import (
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// positiveDuration reads the current subdirective's one argument of block
// as a duration above zero; the error names the block, the subdirective and
// an example such as 12h.
func positiveDuration(d *caddyfile.Dispenser, block, example string, dst *caddy.Duration) error {
	key := d.Val()
	var v string
	if err := oneArg(d, &v); err != nil {
		return err
	}
	dur, err := caddy.ParseDuration(v)
	if err != nil || dur <= 0 {
		return d.Errf("stepup: %s: %s %q is not a positive duration such as %s", block, key, v, example)
	}
	*dst = caddy.Duration(dur)
	return nil
}

func oneArg(d *caddyfile.Dispenser, dst *string) error {
	key := d.Val()
	args := d.RemainingArgs()
	if len(args) != 1 {
		return d.Errf("stepup: %s takes exactly one value, got %d", key, len(args))
	}
	*dst = args[0]
	return nil
}

func someArgs(d *caddyfile.Dispenser) ([]string, error) {
	key := d.Val()
	args := d.RemainingArgs()
	if len(args) == 0 {
		return nil, d.Errf("stepup: %s needs at least one value", key)
	}
	return args, nil
}

func flagArg(d *caddyfile.Dispenser, dst *bool) error {
	key := d.Val()
	if d.NextArg() {
		return d.Errf("stepup: %s takes no value, got %q", key, d.Val())
	}
	*dst = true
	return nil
}
