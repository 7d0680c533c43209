// Package panel is the demo's decision panel (/demo/): it shows, live, the
// stepup handler's audit events and each request's decision as Caddy logged
// them (JSON log files it follows), the caddy_stepup_* counters scraped from
// Caddy's /metrics, and the switches of the network simulator. It reads only
// what Caddy wrote; it keeps no bookkeeping of its own about decisions.
package panel

import (
	"bufio"
	"context"
	"embed"
	"encoding/json"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed web
var web embed.FS

var page = template.Must(template.ParseFS(web, "web/panel.html"))

// Network is an address the simulator can make a request come from.
type Network struct {
	Name  string // the cookie value: home, abroad, blocklisted
	IP    string
	Label string // in plain words, e.g. "London, GB"
}

// Config tells the panel where Caddy writes and what the demo runs.
type Config struct {
	AuditLog   string // stepup's audit events (JSON lines)
	AccessLog  string // the protected sites' access log (JSON lines)
	MetricsURL string // Caddy's Prometheus endpoint
	Issuer     string // the IdP, for the "age my sign-in" form
	AgeToken   string // the IdP accepts that form only with this run's token
	Networks   []Network
	Explain    string // a stepup-explain command line to show
	Risk       string // the risk block's thresholds and weights, in words
}

// Panel serves /demo/.
type Panel struct {
	cfg    Config
	mux    *http.ServeMux
	client *http.Client

	mu     sync.Mutex
	events []Event // the last maxEvents, oldest first
	seq    int
}

const maxEvents = 400

// New returns the panel; Run must be started to follow the logs.
func New(cfg Config) *Panel {
	p := &Panel{cfg: cfg, mux: http.NewServeMux(), client: &http.Client{Timeout: 2 * time.Second}}
	static, _ := fs.Sub(web, "web")
	p.mux.HandleFunc("GET /demo/{$}", p.index)
	p.mux.HandleFunc("GET /demo/events", p.eventsJSON)
	p.mux.HandleFunc("/demo/error", p.serveError)
	p.mux.Handle("GET /demo/static/", http.StripPrefix("/demo/static/", http.FileServerFS(static)))
	return p
}

func (p *Panel) ServeHTTP(w http.ResponseWriter, r *http.Request) { p.mux.ServeHTTP(w, r) }

// Run follows both log files until ctx ends.
func (p *Panel) Run(ctx context.Context) {
	go follow(ctx, p.cfg.AuditLog, 250*time.Millisecond, func(b []byte) {
		if e, ok := parseAudit(b); ok {
			p.add(e)
		}
	})
	follow(ctx, p.cfg.AccessLog, 250*time.Millisecond, func(b []byte) {
		if e, ok := parseAccess(b); ok {
			p.add(e)
		}
	})
}

func (p *Panel) add(e Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	e.Seq = p.seq
	p.events = append(p.events, e)
	if len(p.events) > maxEvents {
		p.events = append(p.events[:0:0], p.events[len(p.events)-maxEvents:]...)
	}
}

// Events returns the events after seq.
func (p *Panel) Events(after int) []Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Event
	for _, e := range p.events {
		if e.Seq > after {
			out = append(out, e)
		}
	}
	return out
}

func (p *Panel) index(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := page.Execute(w, p.cfg); err != nil {
		http.Error(w, "template error", http.StatusInternalServerError)
	}
}

// Metric is one sample of a caddy_stepup_* series.
type Metric struct {
	Name  string `json:"name"` // with its labels, as Prometheus prints it
	Value string `json:"value"`
}

func (p *Panel) eventsJSON(w http.ResponseWriter, r *http.Request) {
	after, _ := strconv.Atoi(r.URL.Query().Get("after"))
	metrics, err := p.scrape(r.Context())
	body := map[string]any{"events": p.Events(after), "metrics": metrics}
	if err != nil {
		body["metrics_error"] = err.Error()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(body)
}

// scrape reads Caddy's /metrics and keeps the caddy_stepup_* samples
// (histogram buckets left out: their _sum and _count say enough here).
func (p *Panel) scrape(ctx context.Context) ([]Metric, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.cfg.MetricsURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out []Metric
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "caddy_stepup_") || strings.Contains(line, "_bucket{") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		out = append(out, Metric{Name: line[:i], Value: line[i+1:]})
	}
	return out, sc.Err()
}
