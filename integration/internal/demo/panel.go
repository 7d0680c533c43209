package demo

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Event is an entry of the demo's decision panel (/demo/events): an audit
// event of the stepup handler or a request's access-log line, as Caddy
// logged them (examples/demo/internal/panel).
type Event struct {
	Seq      int    `json:"seq"`
	Kind     string `json:"kind"` // audit or request
	Msg      string `json:"msg"`
	ID       string `json:"request_id"`
	Method   string `json:"method"`
	Path     string `json:"path"`
	Status   int    `json:"status"`
	Site     string `json:"site"`
	Result   string `json:"result"`
	Rule     string `json:"rule"`
	Reason   string `json:"reason"`
	Mode     string `json:"mode"`
	Subject  string `json:"subject"`
	ClientIP string `json:"client_ip"`
	ACR      string `json:"acr"`
	AMR      string `json:"amr"`
	AuthTime string `json:"auth_time"`
	Score    string `json:"risk_score"`
	Reasons  string `json:"risk_reasons"`
}

func (e Event) String() string {
	return fmt.Sprintf("#%d %s %q %s %s status=%d result=%s rule=%s reason=%s mode=%s acr=%s amr=%q risk=%s(%s) ip=%s site=%s",
		e.Seq, e.Kind, e.Msg, e.Method, e.Path, e.Status, e.Result, e.Rule, e.Reason, e.Mode, e.ACR, e.AMR, e.Score, e.Reasons, e.ClientIP, e.Site)
}

// Panel is what the panel serves: events and caddy_stepup_* samples.
type Panel struct {
	Events  []Event `json:"events"`
	Metrics []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"metrics"`
	MetricsError string `json:"metrics_error"`
}

// ReadPanel fetches the panel's data, events after seq.
func (d *Demo) ReadPanel(t testing.TB, after int) Panel {
	t.Helper()
	resp, err := d.Client(t).Get(fmt.Sprintf("%s/demo/events?after=%d", d.URL, after))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p Panel
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/demo/events: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	return p
}

// Mark is the panel's latest event number: WaitEvent(after Mark) sees only
// what happens next.
func (d *Demo) Mark(t testing.TB) int {
	t.Helper()
	last := 0
	for _, e := range d.ReadPanel(t, 0).Events {
		last = max(last, e.Seq)
	}
	return last
}

// WaitEvent waits until the panel shows an event after seq that match
// accepts, and returns it; it fails the test (listing what the panel had)
// after 20 s.
func (d *Demo) WaitEvent(t testing.TB, after int, what string, match func(Event) bool) Event {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var seen []Event
	for {
		seen = d.ReadPanel(t, after).Events
		for _, e := range seen {
			if match(e) {
				return e
			}
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for _, e := range seen {
				b.WriteString("\n  " + e.String())
			}
			t.Fatalf("the decision panel shows no %s; it has:%s", what, b.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Metric returns the value of a caddy_stepup_* sample whose name (with its
// labels, as Prometheus prints it) contains every part, or "".
func (p Panel) Metric(parts ...string) string {
next:
	for _, m := range p.Metrics {
		for _, part := range parts {
			if !strings.Contains(m.Name, part) {
				continue next
			}
		}
		return m.Value
	}
	return ""
}
