package decision

import (
	"net/http"
	"runtime"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// ruleIndexMin is the number of rules from which a policy looks rules up
// in a ruleIndex instead of trying each in turn. Below it the linear scan
// is as fast and allocates nothing for the request path it does not clean.
const ruleIndexMin = 8

// ruleIndex finds the first rule, in config order, whose matchers match a
// request without trying every rule. A rule is indexed by path when each of
// its matcher sets holds only Caddy's path and method matchers and every
// path pattern is an exact path or a prefix (`/admin/*`) without
// placeholders, escapes or doubled slashes: such a rule cannot match (nor
// fail with an error) unless one of its patterns matches the cleaned path,
// so the index yields a superset of the rules that can match. Every other
// rule (expression, header, host, globs, no matchers) is "opaque" and is
// tried whatever the path. Candidates from both are then tried in config
// order with their full matchers, so the first match wins exactly as in
// the linear scan: the index only skips rules that cannot match.
type ruleIndex struct {
	rules  []rule
	opaque []int32            // rule positions tried for every request, ascending
	exact  map[string][]int32 // cleaned lower-case path → rule positions, ascending
	prefix map[string][]int32 // path prefix → rule positions, ascending
	lens   []int              // distinct prefix lengths, ascending
}

// newRuleIndex indexes compiled rules. It
// returns nil on Windows, where Caddy's path matcher also rewrites
// backslashes and dot-segments in ways the index does not mirror.
func newRuleIndex(rules []rule) *ruleIndex {
	if runtime.GOOS == "windows" {
		return nil
	}
	x := &ruleIndex{rules: rules, exact: map[string][]int32{}, prefix: map[string][]int32{}}
	for i := range rules {
		exact, prefix, ok := indexablePaths(rules[i].match)
		if !ok {
			x.opaque = append(x.opaque, int32(i))
			continue
		}
		for _, p := range exact {
			x.exact[p] = appendOnce(x.exact[p], int32(i))
		}
		for _, p := range prefix {
			x.prefix[p] = appendOnce(x.prefix[p], int32(i))
			if !slices.Contains(x.lens, len(p)) {
				x.lens = append(x.lens, len(p))
			}
		}
	}
	slices.Sort(x.lens)
	return x
}

// appendOnce appends i unless it is already last: rules are indexed in
// ascending order, so a repeated pattern within one rule is the only
// duplicate.
func appendOnce(s []int32, i int32) []int32 {
	if len(s) > 0 && s[len(s)-1] == i {
		return s
	}
	return append(s, i)
}

// indexablePaths returns the exact paths and prefixes one of which a
// request's cleaned path must equal or start with for the matcher sets to
// match, or ok=false when the sets are not that simple.
func indexablePaths(sets caddyhttp.MatcherSets) (exact, prefix []string, ok bool) {
	if len(sets) == 0 {
		return nil, nil, false // matches every request
	}
	for _, set := range sets {
		var paths caddyhttp.MatchPath
		for _, m := range set {
			switch m := m.(type) {
			case caddyhttp.MatchPath:
				if paths != nil {
					return nil, nil, false
				}
				paths = m
			case *caddyhttp.MatchPath:
				if paths != nil || m == nil {
					return nil, nil, false
				}
				paths = *m
			case caddyhttp.MatchMethod, *caddyhttp.MatchMethod:
				// Cannot fail with an error; tried with the full matchers.
			default:
				return nil, nil, false
			}
		}
		if len(paths) == 0 {
			return nil, nil, false
		}
		for _, p := range paths {
			kind, key := classifyPathPattern(p)
			switch kind {
			case patternExact:
				exact = append(exact, key)
			case patternPrefix:
				prefix = append(prefix, key)
			default:
				return nil, nil, false
			}
		}
	}
	return exact, prefix, true
}

type patternKind int

const (
	patternOther patternKind = iota
	patternExact
	patternPrefix
)

// classifyPathPattern mirrors caddyhttp.MatchPath for the patterns the
// index can answer: without `{` (placeholders), `%` (escaped-space
// matching) or `//` (no slash merging), a pattern whose only `*` is its
// last character is a literal prefix of the cleaned path, and one without
// glob characters is compared for equality (path.Match). Patterns are
// already lower-cased by MatchPath's Provision.
func classifyPathPattern(p string) (patternKind, string) {
	if p == "" || strings.ContainsAny(p, "{%") || strings.Contains(p, "//") || p != strings.ToLower(p) {
		return patternOther, ""
	}
	switch n := strings.Count(p, "*"); {
	case n == 0 && !strings.ContainsAny(p, `?[\`):
		return patternExact, p
	case n == 1 && len(p) > 1 && p[len(p)-1] == '*':
		return patternPrefix, p[:len(p)-1]
	}
	return patternOther, ""
}

// indexedPath is the form of the request path the path matcher compares
// patterns against (lower case, cleaned, slashes merged).
func indexedPath(r *http.Request) string {
	return caddyhttp.CleanPath(strings.ToLower(r.URL.Path), true)
}

// first returns the first rule in config order that matches r, or nil. An
// error is the first one a rule tried in order returned, as in the scan.
func (x *ruleIndex) first(r *http.Request) (*Requirement, error) {
	var buf [16]int32
	cands := buf[:0]
	key := indexedPath(r)
	cands = append(cands, x.exact[key]...)
	for _, n := range x.lens {
		if n > len(key) {
			break
		}
		cands = append(cands, x.prefix[key[:n]]...)
	}
	slices.Sort(cands)
	// Merge the path candidates with the opaque rules, in config order.
	i, j, last := 0, 0, int32(-1)
	for i < len(cands) || j < len(x.opaque) {
		var pos int32
		if j >= len(x.opaque) || (i < len(cands) && cands[i] < x.opaque[j]) {
			pos = cands[i]
			i++
		} else {
			pos = x.opaque[j]
			j++
		}
		if pos == last {
			continue
		}
		last = pos
		if req, err := x.rules[pos].matches(r); req != nil || err != nil {
			return req, err
		}
	}
	return nil, nil
}

// firstLinear tries every rule in config order: the reference the index
// must agree with, and what handlers with few rules use.
func firstLinear(rules []rule, r *http.Request) (*Requirement, error) {
	for i := range rules {
		if req, err := rules[i].matches(r); req != nil || err != nil {
			return req, err
		}
	}
	return nil, nil
}
