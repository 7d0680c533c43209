package decision

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// testRule is a rule as configured: a name and raw Caddy matcher sets.
type testRule struct {
	Name           string
	MatcherSetsRaw caddyhttp.RawMatcherSets `json:"match,omitempty" caddy:"namespace=http.matchers"`
}

// compileRules loads the rules' matchers as the handler's Provision does
// and compiles them as New does.
func compileRules(t testing.TB, specs []*testRule) []rule {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	rules := make([]rule, len(specs))
	for i, spec := range specs {
		rules[i].req = NewRequirement(spec.Name, nil, nil, nil, nil)
		if spec.MatcherSetsRaw == nil {
			continue
		}
		sets, err := ctx.LoadModule(spec, "MatcherSetsRaw")
		if err != nil {
			t.Fatalf("rule %s: %v", spec.Name, err)
		}
		if err := rules[i].match.FromInterface(sets); err != nil {
			t.Fatalf("rule %s: %v", spec.Name, err)
		}
	}
	return rules
}

// Path patterns the generator draws from: the exact and prefix forms the
// index answers, and every form it must leave to the matchers (suffix,
// substring, globs, placeholders, escapes, doubled slashes, "*", upper
// case), over a small vocabulary so that rules overlap often.
var (
	genSegments = []string{"admin", "api", "a", "b", "x.js", "area1", "area10", "v1"}
	genPatterns = []func(r *rand.Rand) string{
		func(r *rand.Rand) string { return genPath(r) },
		func(r *rand.Rand) string { return genPath(r) + "/" },
		func(r *rand.Rand) string { return genPath(r) + "/*" },
		func(r *rand.Rand) string { return genPath(r) + "*" },
		func(r *rand.Rand) string { return "*" + genSegments[r.IntN(len(genSegments))] },
		func(r *rand.Rand) string { return "*" + genSegments[r.IntN(len(genSegments))] + "*" },
		func(r *rand.Rand) string { return genPath(r) + "/*/b" },
		func(r *rand.Rand) string { return "/a?" + genPath(r) },
		func(r *rand.Rand) string { return "*" },
		func(r *rand.Rand) string { return "/{env.STEPUP_RULEINDEX_SEG}" + genPath(r) },
		func(r *rand.Rand) string { return genPath(r) + "%2fb" },
		func(r *rand.Rand) string { return "/a/" + genPath(r) },
		func(r *rand.Rand) string { return "/" + strings.ToUpper(genSegments[r.IntN(len(genSegments))]) + "/*" },
	}
)

func genPath(r *rand.Rand) string {
	var sb strings.Builder
	for range 1 + r.IntN(3) {
		sb.WriteString("/" + genSegments[r.IntN(len(genSegments))])
	}
	return sb.String()
}

func genMatcherSet(r *rand.Rand) caddy.ModuleMap {
	set := caddy.ModuleMap{}
	// Mostly path rules (what the index is for), often with a method.
	if r.IntN(10) < 9 {
		var ps []string
		for range 1 + r.IntN(2) {
			if r.IntN(8) == 0 {
				ps = append(ps, genPatterns[r.IntN(len(genPatterns))](r))
			} else {
				ps = append(ps, genPatterns[r.IntN(4)](r))
			}
		}
		set["path"] = mustJSON(ps)
	}
	if r.IntN(3) == 0 {
		set["method"] = mustJSON([]string{[]string{"GET", "post", "DELETE"}[r.IntN(3)]})
	}
	switch r.IntN(24) {
	case 0:
		set["header"] = mustJSON(map[string][]string{"X-Tier": {"gold"}})
	case 1:
		set["host"] = mustJSON([]string{"app.example"})
	case 2:
		// Fails to evaluate (an error) when the query is not a number.
		set["expression"] = mustJSON(`int({http.request.uri.query.n}) > 2`)
	case 3:
		set["query"] = mustJSON(map[string][]string{"n": {"1"}})
	}
	return set
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func genRules(r *rand.Rand, n int) []*testRule {
	rules := make([]*testRule, n)
	for i := range rules {
		rules[i] = &testRule{Name: fmt.Sprintf("r%d", i)}
		if r.IntN(200) == 0 {
			continue // no matchers: covers every request
		}
		for range 1 + r.IntN(4)/3 {
			rules[i].MatcherSetsRaw = append(rules[i].MatcherSetsRaw, genMatcherSet(r))
		}
	}
	return rules
}

// genRequest draws a request path from the same vocabulary, with the forms
// the path matcher normalises: case, doubled slashes, dot segments,
// trailing slashes and escapes.
func genRequest(r *rand.Rand) *http.Request {
	p := genPath(r)
	switch r.IntN(8) {
	case 0:
		p = strings.ToUpper(p)
	case 1:
		p = "/" + p
	case 2:
		p += "/../" + genSegments[r.IntN(len(genSegments))]
	case 3:
		p += "/"
	case 4:
		p += "%2Fb"
	case 5:
		p = "/x" + p
	}
	target := "https://app.example" + p
	if r.IntN(2) == 0 {
		target += "?n=" + []string{"1", "3", "x"}[r.IntN(3)]
	}
	method := []string{"GET", "POST", "DELETE"}[r.IntN(3)]
	req, err := http.NewRequest(method, target, nil)
	if err != nil {
		panic(err)
	}
	if r.IntN(4) == 0 {
		req.Header.Set("X-Tier", "gold")
	}
	repl := caddyhttp.NewTestReplacer(req)
	ctx := context.WithValue(req.Context(), caddy.ReplacerCtxKey, repl)
	ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{})
	return req.WithContext(ctx)
}

// The safety net of the index: for many generated rule sets and requests,
// the index returns the same rule (or the same error) as trying every rule
// in config order.
func TestRuleIndexAgreesWithTheLinearScan(t *testing.T) {
	t.Setenv("STEPUP_RULEINDEX_SEG", "a")
	r := rand.New(rand.NewPCG(19, 1))
	var indexed, opaqueWins, misses, errs int
	for set := range 200 {
		rules := compileRules(t, genRules(r, 1+r.IntN(60)))
		x := newRuleIndex(rules)
		for range 200 {
			req := genRequest(r)
			want, wantErr := firstLinear(rules, req)
			got, gotErr := x.first(req)
			if got != want || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Fatalf("rule set %d, %s %s: index = %v, %v; linear scan = %v, %v\nrules: %s",
					set, req.Method, req.URL, ruleName(got), gotErr, ruleName(want), wantErr, describeRules(rules))
			}
			switch {
			case wantErr != nil:
				errs++
			case want == nil:
				misses++
			case isOpaque(x, want):
				opaqueWins++
			default:
				indexed++
			}
		}
	}
	// The generator must reach every outcome, or the test proves little.
	if indexed == 0 || opaqueWins == 0 || misses == 0 || errs == 0 {
		t.Fatalf("outcomes not all reached: indexed %d, opaque %d, no rule %d, errors %d", indexed, opaqueWins, misses, errs)
	}
	t.Logf("indexed rule won %d, opaque rule won %d, no rule %d, errors %d", indexed, opaqueWins, misses, errs)
}

// Path rules of the common forms are all indexed, so a request tries only
// the rules whose paths can match it.
func TestPathRulesAreIndexedNotScanned(t *testing.T) {
	rules := compileRules(t, []*testRule{
		{Name: "prefix", MatcherSetsRaw: caddyhttp.RawMatcherSets{{"path": mustJSON([]string{"/admin/*"})}}},
		{Name: "prefix_no_slash", MatcherSetsRaw: caddyhttp.RawMatcherSets{{"path": mustJSON([]string{"/admin*"})}}},
		{Name: "exact_method", MatcherSetsRaw: caddyhttp.RawMatcherSets{{"path": mustJSON([]string{"/transfer"}), "method": mustJSON([]string{"POST"})}}},
		{Name: "two_sets", MatcherSetsRaw: caddyhttp.RawMatcherSets{{"path": mustJSON([]string{"/a"})}, {"path": mustJSON([]string{"/b/*"})}}},
		{Name: "header", MatcherSetsRaw: caddyhttp.RawMatcherSets{{"path": mustJSON([]string{"/h"}), "header": mustJSON(map[string][]string{"X-A": {"1"}})}}},
		{Name: "suffix", MatcherSetsRaw: caddyhttp.RawMatcherSets{{"path": mustJSON([]string{"*.js"})}}},
	})
	x := newRuleIndex(rules)
	var opaque []string
	for _, i := range x.opaque {
		opaque = append(opaque, rules[i].req.Name)
	}
	if fmt.Sprint(opaque) != "[header suffix]" {
		t.Fatalf("opaque rules = %v, want [header suffix]", opaque)
	}
	for path, want := range map[string]string{"/ADMIN/x": "prefix", "/adminx": "prefix_no_slash", "/b//c": "two_sets", "/app.js": "suffix"} {
		req := genRequestFor(http.MethodGet, path)
		if got, err := x.first(req); err != nil || ruleName(got) != want {
			t.Errorf("%s: rule %s, %v; want %s", path, ruleName(got), err, want)
		}
	}
}

// A policy with many rules looks them up in the index.
func TestPolicyWithManyRulesUsesTheIndex(t *testing.T) {
	var specs []RuleSpec
	for _, spec := range genAreaRules(t, 20) {
		specs = append(specs, RuleSpec{Name: spec.req.Name, Match: spec.match})
	}
	p := New(Config{Rules: specs})
	if p.index == nil {
		t.Fatal("no rule index with 20 rules")
	}
	req, err := p.Match(genRequestFor(http.MethodGet, "/area13/x"))
	if err != nil || req != p.rules[13].req {
		t.Fatalf("Match = %v, %v; want area13's", ruleName(req), err)
	}
}

// genAreaRules compiles n rules area0 … area{n-1}, each for /areaN/*.
func genAreaRules(t testing.TB, n int) []rule {
	var specs []*testRule
	for i := range n {
		specs = append(specs, &testRule{Name: fmt.Sprintf("area%d", i),
			MatcherSetsRaw: caddyhttp.RawMatcherSets{{"path": mustJSON([]string{fmt.Sprintf("/area%d/*", i)})}}})
	}
	return compileRules(t, specs)
}

func genRequestFor(method, path string) *http.Request {
	req, _ := http.NewRequest(method, "https://app.example"+path, nil)
	ctx := context.WithValue(req.Context(), caddy.ReplacerCtxKey, caddyhttp.NewTestReplacer(req))
	return req.WithContext(ctx)
}

func isOpaque(x *ruleIndex, req *Requirement) bool {
	for _, i := range x.opaque {
		if x.rules[i].req == req {
			return true
		}
	}
	return false
}

func ruleName(r *Requirement) string {
	if r == nil {
		return "<none>"
	}
	return r.Name
}

func describeRules(rules []rule) string {
	var sb strings.Builder
	for _, r := range rules {
		fmt.Fprintf(&sb, "\n  %s: %v", r.req.Name, r.match)
	}
	return sb.String()
}
