package panel

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// An access-log line keeps its decision fields and loses its query string,
// which may carry an authorization code or state.
func TestAccessLinesKeepTheDecisionAndDropTheQuery(t *testing.T) {
	line := `{"level":"info","ts":1796287362.5,"logger":"http.log.access.log0","msg":"handled request",` +
		`"request":{"client_ip":"198.51.100.10","method":"GET","uri":"/.stepup/callback?code=SECRET&state=S"},"status":303,` +
		`"demo_site":"enforce","request_id":"r1","stepup_result":"pass","stepup_rule":"admin","risk_score":"70","risk_reasons":"new_device=60 asn_change=10"}`
	e, ok := parseAccess([]byte(line))
	if !ok {
		t.Fatal("not parsed")
	}
	if e.Path != "/.stepup/callback" || e.ID != "r1" || e.Result != "pass" || e.Rule != "admin" || e.Score != "70" || e.ClientIP != "198.51.100.10" || e.Status != 303 {
		t.Errorf("parsed %+v", e)
	}
}

// An audit event's session and risk fields reach the panel as Caddy wrote them.
func TestAuditLinesCarrySessionAndRisk(t *testing.T) {
	line := `{"level":"info","ts":1796287362.5,"logger":"http.handlers.stepup","msg":"step-up required","rule":"transfer","reason":"max_age",` +
		`"mode":"enforce","subject":"alice","acr":"urn:stepup:mfa","amr":"pwd otp","auth_time":1796286762,"risk_score":0,"risk_reasons":"",` +
		`"request":{"id":"r2","method":"POST","host":"localhost:8443","path":"/transfer"}}`
	e, ok := parseAudit([]byte(line))
	if !ok {
		t.Fatal("not parsed")
	}
	if e.Msg != "step-up required" || e.Rule != "transfer" || e.Reason != "max_age" || e.Mode != "enforce" || e.Subject != "alice" ||
		e.ACR != "urn:stepup:mfa" || e.AMR != "pwd otp" || e.AuthTime != "1796286762" || e.Score != "0" || e.ID != "r2" || e.Path != "/transfer" {
		t.Errorf("parsed %+v", e)
	}
}

// The panel follows a log file as Caddy appends to it, a partial line
// waiting for its end, and serves the caddy_stepup_* samples it scrapes.
func TestPanelFollowsTheLogsAndScrapesTheCounters(t *testing.T) {
	dir := t.TempDir()
	access := filepath.Join(dir, "access.json")
	metrics := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("# HELP x\ncaddy_stepup_requests_total{outcome=\"pass\"} 3\ncaddy_stepup_risk_score_bucket{le=\"10\"} 1\ncaddy_http_requests_total 9\n"))
	}))
	defer metrics.Close()
	p := New(Config{AuditLog: filepath.Join(dir, "audit.json"), AccessLog: access, MetricsURL: metrics.URL})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Run(ctx)

	f, err := os.Create(access)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString(`{"ts":1,"status":200,"request":{"method":"GET","uri":"/a"},"request_id":"1"}` + "\n" + `{"ts":2,"status":401,`)
	waitEvents(t, p, 1)
	f.WriteString(`"request":{"method":"GET","uri":"/b"},"request_id":"2"}` + "\n")
	if ev := waitEvents(t, p, 2); ev[1].Path != "/b" || ev[1].Status != 401 {
		t.Errorf("second event %+v", ev[1])
	}
	m, err := p.scrape(context.Background())
	if err != nil || len(m) != 1 || m[0].Name != `caddy_stepup_requests_total{outcome="pass"}` || m[0].Value != "3" {
		t.Errorf("scraped %+v, %v", m, err)
	}
}

func waitEvents(t *testing.T, p *Panel, n int) []Event {
	t.Helper()
	for range 200 {
		if ev := p.Events(0); len(ev) >= n {
			if len(ev) > n {
				t.Fatalf("%d events, want %d: %+v", len(ev), n, ev)
			}
			return ev
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("fewer than %d events: %+v", n, p.Events(0))
	return nil
}
