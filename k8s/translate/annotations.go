package translate

import (
	"cmp"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
)

// Prefix is the annotation prefix this package owns. Every key under it must
// be one of the keys below; anything else is reported.
const Prefix = "stepup.caddy-stepup.dev/"

// Annotation keys, without Prefix. Policies in the controller config use the
// same keys (except KeyPolicy) with the same value syntax.
const (
	// KeyPolicy names a policy from the controller config whose settings
	// apply first; the Ingress's own annotations override them key by key.
	KeyPolicy = "policy"
	// KeyPaths is a comma-separated list of Caddy path patterns (`/admin/*`)
	// that need step-up. Default: every request the Ingress routes.
	KeyPaths = "paths"
	// KeyMethods is a comma-separated list of upper-case HTTP methods that
	// need step-up. Default: every method.
	KeyMethods = "methods"
	// KeyACR is a comma-separated list of acceptable acr values.
	KeyACR = "acr"
	// KeyAMR is a comma-separated list of amr values that must all be present.
	KeyAMR = "amr"
	// KeyMaxAge is how long ago the user may have authenticated: a duration
	// with a unit (`10m`, `1h30m`, `0s` for a fresh login every time).
	KeyMaxAge = "max-age"
	// KeyRiskStepUp is the risk score (an integer) above which a request
	// needs the risk block's stronger login. Opts the Ingress into risk scoring.
	KeyRiskStepUp = "risk-step-up"
	// KeyRiskDeny is the risk score (an integer) above which a request is
	// refused. Opts the Ingress into risk scoring.
	KeyRiskDeny = "risk-deny"
	// KeyReportOnly is `true` or `false`: record what step-up would do, but
	// enforce nothing.
	KeyReportOnly = "report-only"
)

// knownKeys lists the keys in the order problems and docs name them.
var knownKeys = []string{KeyPolicy, KeyPaths, KeyMethods, KeyACR, KeyAMR, KeyMaxAge, KeyRiskStepUp, KeyRiskDeny, KeyReportOnly}

// Keys returns the annotation keys (without Prefix) the parser knows.
func Keys() []string { return slices.Clone(knownKeys) }

// settings is one rule's worth of step-up configuration, from a policy or
// from annotations. Pointers and nil slices mean "not set".
type settings struct {
	policy     string
	paths      []string
	methods    []string
	acr        []string
	amr        []string
	maxAge     *time.Duration
	riskStepUp *int
	riskDeny   *int
	reportOnly *bool
}

// problem is one bad key: the key without prefix and what is wrong.
type problem struct {
	key string
	msg string
}

// ourAnnotations returns the annotations under Prefix, keyed without it, and
// the keys whose prefix looks like a misspelling of ours (it mentions
// "stepup"): left alone, such a typo would leave the Ingress unprotected.
func ourAnnotations(annotations map[string]string) (ours map[string]string, misspelt []string) {
	ours = map[string]string{}
	for k, v := range annotations {
		if rest, ok := strings.CutPrefix(k, Prefix); ok {
			ours[rest] = v
		} else if domain, _, ok := strings.Cut(k, "/"); ok && strings.Contains(strings.ToLower(domain), "stepup") {
			misspelt = append(misspelt, k)
		}
	}
	sort.Strings(misspelt)
	return ours, misspelt
}

// parseSettings parses values keyed without prefix. allowPolicy is false for
// policies themselves (a policy cannot name another). Problems come back
// sorted by key; s holds every value that did parse.
func parseSettings(values map[string]string, allowPolicy bool) (s settings, problems []problem) {
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		v := values[key]
		var err error
		switch key {
		case KeyPolicy:
			if !allowPolicy {
				err = fmt.Errorf("a policy cannot refer to another policy")
				break
			}
			if !ruleNamePattern.MatchString(v) {
				err = fmt.Errorf("%q is not a policy name (1-64 letters, digits, '-' or '_')", v)
				break
			}
			s.policy = v
		case KeyPaths:
			s.paths, err = parseList(v, checkPath)
		case KeyMethods:
			s.methods, err = parseList(v, checkMethod)
		case KeyACR, KeyAMR:
			var list []string
			list, err = parseList(v, checkClaimValue)
			if key == KeyACR {
				s.acr = list
			} else {
				s.amr = list
			}
		case KeyMaxAge:
			var d time.Duration
			d, err = parseDuration(v)
			s.maxAge = &d
		case KeyRiskStepUp, KeyRiskDeny:
			var n int
			n, err = parseScore(v)
			if key == KeyRiskStepUp {
				s.riskStepUp = &n
			} else {
				s.riskDeny = &n
			}
		case KeyReportOnly:
			var b bool
			b, err = parseBool(v)
			s.reportOnly = &b
		default:
			err = fmt.Errorf("unknown key; known keys under %s are %s", Prefix, strings.Join(knownKeys, ", "))
		}
		if err != nil {
			problems = append(problems, problem{key: key, msg: err.Error()})
		}
	}
	return s, problems
}

// over returns base with every setting that o sets replaced by o's.
func (base settings) over(o settings) settings {
	s := base
	s.policy = o.policy
	s.paths = setOr(o.paths, base.paths)
	s.methods = setOr(o.methods, base.methods)
	s.acr = setOr(o.acr, base.acr)
	s.amr = setOr(o.amr, base.amr)
	s.maxAge = cmp.Or(o.maxAge, base.maxAge) // nil pointers are unset
	s.riskStepUp = cmp.Or(o.riskStepUp, base.riskStepUp)
	s.riskDeny = cmp.Or(o.riskDeny, base.riskDeny)
	s.reportOnly = cmp.Or(o.reportOnly, base.reportOnly)
	return s
}

// setOr returns list if it is set (not nil), else fallback.
func setOr(list, fallback []string) []string {
	if list != nil {
		return list
	}
	return fallback
}

// parseList splits a comma-separated list, trimming spaces around items.
// Empty items and repeated items are errors.
func parseList(v string, check func(string) error) ([]string, error) {
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("%q has an empty item; write a comma-separated list such as a, b", v)
		}
		if err := check(item); err != nil {
			return nil, err
		}
		if slices.Contains(out, item) {
			return nil, fmt.Errorf("%q is listed twice", item)
		}
		out = append(out, item)
	}
	return out, nil
}

func checkPath(p string) error {
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "?#") || strings.IndexFunc(p, isSpaceOrControl) >= 0 {
		return fmt.Errorf("%q is not a path pattern such as /admin/* (absolute, no spaces, query or fragment)", p)
	}
	return nil
}

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// methodPattern accepts upper-case method names (RFC 9110 tokens in practice).
var methodPattern = regexp.MustCompile(`^[A-Z][A-Z_-]{0,31}$`)

func checkMethod(m string) error {
	if !methodPattern.MatchString(m) {
		return fmt.Errorf("%q is not an upper-case HTTP method such as POST", m)
	}
	return nil
}

// claimValuePattern is the stepup handler's rule for acr/amr values:
// printable ASCII without spaces, quotes or backslashes.
var claimValuePattern = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]{1,255}$`)

func checkClaimValue(v string) error {
	if !claimValuePattern.MatchString(v) {
		return fmt.Errorf("%q must be printable ASCII without spaces, quotes or backslashes", v)
	}
	return nil
}

// ruleNamePattern is the stepup handler's rule for rule names; policy names
// become rule names.
var ruleNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// durationPattern demands a unit on every number, so `300` (seconds? ns?) is
// refused instead of guessed; `0s` is the way to write zero.
var durationPattern = regexp.MustCompile(`^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h|d))+$`)

func parseDuration(v string) (time.Duration, error) {
	if !durationPattern.MatchString(v) {
		return 0, fmt.Errorf("%q is not a duration with a unit such as 10m, 1h30m or 0s", v)
	}
	d, err := caddy.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration with a unit such as 10m, 1h30m or 0s", v)
	}
	return d, nil
}

func parseBool(v string) (bool, error) {
	switch v {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean; write true or false", v)
}

// parseScore reads a risk score: a plain decimal integer. Its range is
// checked against the risk block it lands in (see risk.go).
func parseScore(v string) (int, error) {
	if len(v) == 0 || len(v) > 3 || strings.TrimLeft(v, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a risk score; write a whole number such as 60", v)
	}
	return strconv.Atoi(v)
}
