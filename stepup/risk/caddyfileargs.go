package risk

import (
	"fmt"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// parser reads one block; ctx prefixes its messages.
type parser struct {
	d   *caddyfile.Dispenser
	ctx string
}

func (p parser) sub(name string) parser {
	return parser{d: p.d, ctx: p.ctx + ": " + name}
}

func (p parser) errf(format string, args ...any) error {
	return p.d.Errf(p.ctx+": "+format, args...)
}

// noArgs rejects arguments after a block's name.
func (p parser) noArgs() error {
	if p.d.NextArg() {
		return p.errf("unexpected argument %q; settings go in the block", p.d.Val())
	}
	return nil
}

// block calls f for each subdirective, rejecting repeats of those not in
// repeatable.
func (p parser) block(f func(key string) error, repeatable map[string]bool) error {
	seen := map[string]bool{}
	for nesting := p.d.Nesting(); p.d.NextBlock(nesting); {
		key := p.d.Val()
		if seen[key] && !repeatable[key] {
			return p.errf("%s is set twice; keep one", key)
		}
		seen[key] = true
		if err := f(key); err != nil {
			return err
		}
	}
	return nil
}

func (p parser) unknown(key, valid string) error {
	return p.errf("unknown subdirective %q (use %s)", key, valid)
}

func (p parser) argErr() error {
	return fmt.Errorf("%s: %w", p.ctx, p.d.ArgErr())
}

func (p parser) one() (string, error) {
	if !p.d.NextArg() {
		return "", p.argErr()
	}
	v := p.d.Val()
	if p.d.NextArg() {
		return "", p.argErr()
	}
	return v, nil
}

func (p parser) string(dst *string) error {
	v, err := p.one()
	*dst = v
	return err
}

func (p parser) strings(dst *[]string) error {
	args := p.d.RemainingArgs()
	if len(args) == 0 {
		return p.argErr()
	}
	*dst = args
	return nil
}

func (p parser) flag(dst *bool) error {
	if p.d.NextArg() {
		return p.argErr()
	}
	*dst = true
	return nil
}

func (p parser) int(dst *int, lowest, highest int, what string) error {
	key := p.d.Val()
	v, err := p.one()
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lowest || n > highest {
		return p.errf("%s %q is not a whole number from %d to %d (%s)", key, v, lowest, highest, what)
	}
	*dst = n
	return nil
}

// duration parses a duration of at least lowest nanoseconds.
func (p parser) duration(lowest caddy.Duration) (caddy.Duration, error) {
	key := p.d.Val()
	v, err := p.one()
	if err != nil {
		return 0, err
	}
	dur, err := caddy.ParseDuration(v)
	if err != nil || caddy.Duration(dur) < lowest {
		return 0, p.errf("%s %q is not a duration such as 5m", key, v)
	}
	return caddy.Duration(dur), nil
}

func (p parser) countries(dst *[]string) error {
	key := p.d.Val()
	if err := p.strings(dst); err != nil {
		return err
	}
	for _, cc := range *dst {
		if !countryPattern.MatchString(cc) {
			return p.errf("%s %q is not an upper-case ISO 3166-1 alpha-2 code such as GB", key, cc)
		}
	}
	return nil
}
