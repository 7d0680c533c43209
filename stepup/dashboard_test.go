package stepup

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// The example Grafana dashboard may only chart metrics the handler exports.
func TestGrafanaDashboardUsesOnlyOurMetrics(t *testing.T) {
	raw, err := os.ReadFile("../examples/grafana/stepup-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	m := sharedMetrics()
	for _, c := range []prometheus.Collector{m.requests, m.challenges, m.logins, m.idpDuration, m.riskScore, m.sessionDecodes} {
		ch := make(chan *prometheus.Desc, 1)
		c.Describe(ch)
		name := regexp.MustCompile(`fqName: "([^"]+)"`).FindStringSubmatch((<-ch).String())[1]
		for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
			known[name+suffix] = true
		}
	}
	metric := regexp.MustCompile(`caddy_stepup_[a-z_]+`)
	if len(dash.Panels) < 6 {
		t.Fatalf("dashboard has %d panels", len(dash.Panels))
	}
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			names := metric.FindAllString(target.Expr, -1)
			if len(names) == 0 {
				t.Errorf("panel %q charts no stepup metric: %s", p.Title, target.Expr)
			}
			for _, n := range names {
				if !known[n] {
					t.Errorf("panel %q uses unknown metric %s (known: %s)", p.Title, n, strings.Join(keys(known), ", "))
				}
			}
		}
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
