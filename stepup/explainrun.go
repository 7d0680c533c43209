package stepup

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	// Explain keeps its keys in a throwaway file_system storage, whatever
	// modules the binary was built with.
	_ "github.com/caddyserver/caddy/v2/modules/filestorage"
)

// explainQuery describes the request (and optionally the session and the
// risk facts) to explain.
type explainQuery struct {
	Method  string
	URL     string
	IP      string
	Headers []string

	// Session: none unless Session is set or ACR, AMR or AuthAge are given.
	Session bool
	Subject string
	ACR     string
	AMR     []string
	AuthAge time.Duration

	// Risk facts: the address the session logged in from (default: IP) and
	// whether this browser is the device the login recorded.
	LoginIP string
	Device  string // known (default) or new

	logFile string // tests: log to this file instead of stderr
}

func (q explainQuery) hasSession() bool {
	return q.Session || q.ACR != "" || len(q.AMR) > 0 || q.AuthAge != 0
}

// explanation is what the server did with the request.
type explanation struct {
	Server  string            `json:"server"`
	Listen  []string          `json:"listen"`
	Verdict string            `json:"verdict"`
	Status  int               `json:"status,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
	// Stepup lists the stepup handlers the request went through, in order.
	Stepup []*explainedStep `json:"stepup"`
	// Reached is the handler the request went on to when explain stopped
	// (explain never proxies, serves files or calls anything).
	Reached string `json:"reached,omitempty"`
}

// explainedStep is one stepup handler's decision.
type explainedStep struct {
	Rule        string `json:"rule,omitempty"`
	Result      string `json:"result"`
	Reason      string `json:"reason,omitempty"`
	ACR         string `json:"acr,omitempty"`
	AMR         string `json:"amr,omitempty"`
	MaxAge      string `json:"max_age,omitempty"`
	ReportOnly  bool   `json:"report_only,omitempty"`
	RiskScore   string `json:"risk_score,omitempty"`
	RiskReasons string `json:"risk_reasons,omitempty"`
	// NeedsIdP is set when the handler turned to the IdP (to send a browser
	// there, or to check a token); explain does not contact it.
	NeedsIdP      bool `json:"needs_idp,omitempty"`
	passed        bool
	loginRedirect bool
}

// Verdicts.
const (
	verdictPass        = "pass"           // a stepup handler let it through
	verdictUnprotected = "pass_no_rule"   // it reached stepup, no rule applied
	verdictReportOnly  = "report_only"    // it fell short, but only recorded
	verdictNoStepup    = "no_stepup"      // no stepup handler saw it
	verdictChallenge   = "challenge"      // 401 with an RFC 9470 challenge
	verdictLogin       = "login_redirect" // a browser would be sent to the IdP
	verdictNeedsIdP    = "needs_idp"      // a bearer token to check at the IdP
	verdictDenied      = "denied"         // 403
	verdictRefused     = "refused"        // any other answer
)

// runExplain provisions the config's HTTP app exactly as `caddy run` would
// (without starting listeners, with storage in a throwaway directory and
// quiet logs), picks the server listening on the URL's port and sends the
// request through that server's compiled routes, so that explain cannot
// drift from enforcement.
func runExplain(cfgJSON []byte, q explainQuery) (*explanation, error) {
	r, err := q.request()
	if err != nil {
		return nil, err
	}
	var cfg caddy.Config
	if err := json.Unmarshal(cfgJSON, &cfg); err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	if _, ok := cfg.AppsRaw["http"]; !ok {
		return nil, errors.New("the config has no http app")
	}
	dir, err := os.MkdirTemp("", "stepup-explain-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	// Keys, certificates and locks go to the throwaway directory: explain
	// never writes to the storage a running server uses.
	cfg.StorageRaw = json.RawMessage(`{"module":"file_system","root":` + strconv.Quote(dir) + `}`)
	cfg.Logging = quietLogging(q.logFile)
	apps := cfg.AppsRaw
	cfg.AppsRaw = nil
	root, err := caddy.ProvisionContext(&cfg)
	if err != nil {
		return nil, err
	}
	// Apps are loaded in a child context so that cancelling it runs every
	// module's Cleanup (stepup releases its provider and risk engine).
	cfg.AppsRaw = apps
	ctx, cancel := caddy.NewContext(root)
	defer cancel()
	appAny, err := ctx.App("http")
	if err != nil {
		return nil, err
	}
	app := appAny.(*caddyhttp.App)
	name, srv, err := serverFor(app, r)
	if err != nil {
		return nil, err
	}
	rec := &explainRecorder{q: q, dir: dir}
	if err := rec.instrument(ctx, srv.Routes); err != nil {
		return nil, err
	}
	if srv.Errors != nil {
		if err := rec.instrument(ctx, srv.Errors.Routes); err != nil {
			return nil, err
		}
	}
	out := &explanation{Server: name, Listen: srv.Listen}
	w := httptest.NewRecorder()
	rec.serve(srv, w, r)
	rec.conclude(out, w)
	return out, nil
}

// quietLogging is production logging at WARN: one line per warning, no
// development logger and no stack traces. It goes to stderr, or to file.
func quietLogging(file string) *caddy.Logging {
	base := caddy.BaseLog{Level: "WARN"}
	if file != "" {
		base.WriterRaw = json.RawMessage(`{"output":"file","filename":` + strconv.Quote(file) + `}`)
	}
	return &caddy.Logging{Logs: map[string]*caddy.CustomLog{"default": {BaseLog: base}}}
}

// serverFor picks the server that listens on the request URL's port.
func serverFor(app *caddyhttp.App, r *http.Request) (string, *caddyhttp.Server, error) {
	port := r.URL.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[r.URL.Scheme]
	}
	want, err := strconv.ParseUint(port, 10, 32)
	if err != nil {
		return "", nil, fmt.Errorf("--url: port %q is not a number", port)
	}
	names := make([]string, 0, len(app.Servers))
	for name := range app.Servers {
		names = append(names, name)
	}
	slices.Sort(names)
	var all []string
	for _, name := range names {
		srv := app.Servers[name]
		for _, l := range srv.Listen {
			all = append(all, name+" "+l)
			addr, err := caddy.ParseNetworkAddress(l)
			if err != nil || addr.IsUnixNetwork() || addr.IsFdNetwork() {
				continue
			}
			if uint(want) >= addr.StartPort && uint(want) <= addr.EndPort {
				return name, srv, nil
			}
		}
	}
	return "", nil, fmt.Errorf("no server listens on port %d (servers: %s)", want, strings.Join(all, ", "))
}

// request builds the request to explain, as it would arrive at the server.
func (q explainQuery) request() (*http.Request, error) {
	if q.URL == "" {
		return nil, errors.New("--url is required")
	}
	if !strings.HasPrefix(q.URL, "http://") && !strings.HasPrefix(q.URL, "https://") {
		return nil, fmt.Errorf("--url %q: want an absolute http:// or https:// URL", q.URL)
	}
	if q.Method == "" {
		q.Method = http.MethodGet
	}
	r := httptest.NewRequest(q.Method, q.URL, nil)
	for _, h := range q.Headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok {
			return nil, fmt.Errorf("--header %q: want 'Name: value'", h)
		}
		r.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	for name, ip := range map[string]string{"--ip": q.IP, "--login-ip": q.LoginIP} {
		if ip != "" && net.ParseIP(ip) == nil {
			return nil, fmt.Errorf("%s %q is not an IP address", name, ip)
		}
	}
	if q.IP == "" {
		return nil, errors.New("--ip is required")
	}
	switch q.Device {
	case "", "known", "new":
	default:
		return nil, fmt.Errorf("--device %q: want known or new", q.Device)
	}
	r.RemoteAddr = net.JoinHostPort(q.IP, "50000")
	return r, nil
}
