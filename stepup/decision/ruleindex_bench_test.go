package decision

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// BenchmarkRuleIndex finds the rule among 1, 10, 100 and 1,000 path rules
// (`/areaN/*`, the request matching the last), by the linear scan (what
// every handler did before the index) and by the index, side by side in
// one run. "+header" adds a header rule (not indexable) after every 100th
// path rule: those are still tried in order. Target (issue 19): ≤ 2 µs at
// 1,000 path rules.
func BenchmarkRuleIndex(b *testing.B) {
	for _, c := range []struct {
		n       int
		headers bool
	}{{1, false}, {10, false}, {100, false}, {1000, false}, {1000, true}} {
		var specs []*testRule
		for i := range c.n {
			specs = append(specs, &testRule{Name: fmt.Sprintf("area%d", i),
				MatcherSetsRaw: caddyhttp.RawMatcherSets{{"path": mustJSON([]string{fmt.Sprintf("/area%d/*", i)})}}})
			if c.headers && i%100 == 0 {
				specs = append(specs, &testRule{Name: fmt.Sprintf("hdr%d", i),
					MatcherSetsRaw: caddyhttp.RawMatcherSets{{"header": mustJSON(map[string][]string{"X-Tier": {fmt.Sprint(i)}})}}})
			}
		}
		rules := compileRules(b, specs)
		x := newRuleIndex(rules)
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("https://app.example/area%d/page", c.n-1), nil)
		req = req.WithContext(context.WithValue(req.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer()))
		want := rules[len(rules)-1].req
		if c.headers {
			for _, r := range rules {
				if r.req.Name == fmt.Sprintf("area%d", c.n-1) {
					want = r.req
				}
			}
		}
		name := fmt.Sprintf("rules=%d", c.n)
		if c.headers {
			name += "+header"
		}
		b.Run(name+"/scan=linear", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if got, err := firstLinear(rules, req); err != nil || got != want {
					b.Fatalf("linear scan = %v, %v", ruleName(got), err)
				}
			}
		})
		b.Run(name+"/scan=index", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if got, err := x.first(req); err != nil || got != want {
					b.Fatalf("index = %v, %v", ruleName(got), err)
				}
			}
		})
	}
}
