package stepup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/certmagic"
	"github.com/spf13/cobra"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "stepup-explain",
		Usage: "--config <path> [--adapter <name>] --url <url> [--method <method>] [--ip <addr>] [--header 'Name: value'...] [--acr <acr>] [--amr <m>...] [--auth-age <duration>]",
		Short: "Explains what the stepup handler would demand of a request",
		Long: `
Loads a config (without starting anything), builds the request you
describe, and prints, for every stepup handler whose route would see it:
which rule matches, what acr/amr/max_age it demands, and, if you describe a
session with --acr/--amr/--auth-age, whether that session would pass or how
it would be challenged. Use it to check a policy before deploying it.`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Flags().StringP("config", "c", "", "Config file to load")
			cmd.Flags().StringP("adapter", "a", "", "Name of the config adapter")
			cmd.Flags().String("url", "", "Request URL, e.g. https://app.example.com/admin")
			cmd.Flags().String("method", http.MethodGet, "Request method")
			cmd.Flags().String("ip", "192.0.2.1", "Client IP address")
			cmd.Flags().StringArray("header", nil, "Request header 'Name: value' (repeatable)")
			cmd.Flags().String("acr", "", "acr of a session to test (omit for no session)")
			cmd.Flags().StringSlice("amr", nil, "amr values of that session")
			cmd.Flags().Duration("auth-age", 0, "How long ago that session's user authenticated")
			cmd.RunE = caddycmd.WrapCommandFuncForCobra(cmdExplain)
		},
	})
}

func cmdExplain(fl caddycmd.Flags) (int, error) {
	cfg, _, _, err := caddycmd.LoadConfig(fl.String("config"), fl.String("adapter"))
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	if cfg == nil {
		return caddy.ExitCodeFailedStartup, errors.New("no config: pass --config")
	}
	headers, _ := fl.GetStringArray("header")
	amr, _ := fl.GetStringSlice("amr")
	age, _ := fl.GetDuration("auth-age")
	q := explainQuery{
		Method: fl.String("method"), URL: fl.String("url"), IP: fl.String("ip"),
		Headers: headers, ACR: fl.String("acr"), AMR: amr, AuthAge: age,
	}
	if err := explain(os.Stdout, cfg, q); err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	return caddy.ExitCodeSuccess, nil
}

// explainQuery describes the request (and optionally the session) to explain.
type explainQuery struct {
	Method  string
	URL     string
	IP      string
	Headers []string
	ACR     string // "" for no session
	AMR     []string
	AuthAge time.Duration
}

// explain finds every stepup handler in a JSON config and reports what it
// would do with the request. Nothing is started and no I/O leaves the process.
func explain(out io.Writer, cfgJSON []byte, q explainQuery) error {
	r, err := q.request()
	if err != nil {
		return err
	}
	var cfg struct {
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Routes []json.RawMessage `json:"routes"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(cfgJSON, &cfg); err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	found := 0
	for name, srv := range cfg.Apps.HTTP.Servers {
		w := explainWalker{ctx: ctx, out: out, r: r, q: q, found: &found}
		if err := w.routes(srv.Routes, "server "+name, true); err != nil {
			return err
		}
	}
	if found == 0 {
		fmt.Fprintln(out, "no stepup handler in this config")
	}
	return nil
}

func (q explainQuery) request() (*http.Request, error) {
	if q.URL == "" {
		return nil, errors.New("--url is required")
	}
	r := httptest.NewRequest(q.Method, q.URL, nil)
	for _, h := range q.Headers {
		k, v, ok := strings.Cut(h, ":")
		if !ok {
			return nil, fmt.Errorf("--header %q: want 'Name: value'", h)
		}
		r.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	if net.ParseIP(q.IP) == nil {
		return nil, fmt.Errorf("--ip %q is not an IP address", q.IP)
	}
	r.RemoteAddr = net.JoinHostPort(q.IP, "50000")
	repl := caddyhttp.NewTestReplacer(r)
	ctx := context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl)
	ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{caddyhttp.ClientIPVarKey: q.IP})
	return r.WithContext(ctx), nil
}

type explainWalker struct {
	ctx   caddy.Context
	out   io.Writer
	r     *http.Request
	q     explainQuery
	found *int
}

// routeJSON is the part of a route the walker reads.
type routeJSON struct {
	MatcherSetsRaw caddyhttp.RawMatcherSets `json:"match,omitempty" caddy:"namespace=http.matchers"`
	Handle         []json.RawMessage        `json:"handle"`
}

// routes walks routes in order, as Caddy would, descending into subroutes.
func (w explainWalker) routes(raw []json.RawMessage, where string, reached bool) error {
	for i, rr := range raw {
		var route routeJSON
		if err := json.Unmarshal(rr, &route); err != nil {
			return err
		}
		matches := true
		if route.MatcherSetsRaw != nil {
			sets, err := w.ctx.LoadModule(&route, "MatcherSetsRaw")
			if err != nil {
				return fmt.Errorf("%s route %d: %w", where, i, err)
			}
			var ms caddyhttp.MatcherSets
			if err := ms.FromInterface(sets); err != nil {
				return err
			}
			if matches, err = ms.AnyMatchWithError(w.r); err != nil {
				return err
			}
		}
		here := fmt.Sprintf("%s › route %d", where, i)
		for _, hr := range route.Handle {
			var kind struct {
				Handler string            `json:"handler"`
				Routes  []json.RawMessage `json:"routes"`
			}
			if err := json.Unmarshal(hr, &kind); err != nil {
				return err
			}
			switch kind.Handler {
			case "subroute":
				if err := w.routes(kind.Routes, here, reached && matches); err != nil {
					return err
				}
			case "stepup":
				*w.found++
				if err := w.handler(hr, here, reached && matches); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (w explainWalker) handler(raw json.RawMessage, where string, reached bool) error {
	fmt.Fprintf(w.out, "stepup handler at %s\n", where)
	if !reached {
		fmt.Fprintln(w.out, "  the request does not reach this handler (its route's matchers do not match)")
		return nil
	}
	h := new(Handler)
	if err := json.Unmarshal(raw, h); err != nil {
		return err
	}
	h.storage = &certmagic.FileStorage{Path: os.TempDir()} // never touched: keys load lazily
	if err := h.Provision(w.ctx); err != nil {
		return err
	}
	defer h.Cleanup()
	if err := h.Validate(); err != nil {
		return err
	}
	req, err := h.requirementFor(w.r)
	if err != nil {
		return err
	}
	if req == nil {
		fmt.Fprintln(w.out, "  no rule matches and require_login is rules: the request passes untouched")
		return nil
	}
	fmt.Fprintf(w.out, "  rule: %s%s\n", req.rule, map[bool]string{true: " (report only)"}[req.reportOnly])
	fmt.Fprintf(w.out, "  demands: acr %s, amr %s, max_age %s\n", orAny(req.acrValues), orAny(strings.Join(req.amr, " ")), maxAgeText(req))
	if w.q.ACR == "" && w.q.AuthAge == 0 && len(w.q.AMR) == 0 {
		fmt.Fprintln(w.out, "  without a session: browsers are sent to the IdP, API clients get:")
		fmt.Fprintf(w.out, "    WWW-Authenticate: %s\n", authenticateHeader(errInsufficientAuth, describe(reasonNoSession, req), req))
		return nil
	}
	now := time.Now()
	s := &session{Subject: "explain", ACR: w.q.ACR, AMR: w.q.AMR, AuthTime: now.Add(-w.q.AuthAge), Issued: now.Add(-w.q.AuthAge), Expires: now.Add(time.Hour)}
	if reason := req.check(s, now, h.levels); reason != "" {
		fmt.Fprintf(w.out, "  a session with acr %q, amr %v, authenticated %s ago: step-up (%s)\n", w.q.ACR, w.q.AMR, w.q.AuthAge, reason)
		fmt.Fprintf(w.out, "    WWW-Authenticate: %s\n", authenticateHeader(errInsufficientAuth, describe(reason, req), req))
		return nil
	}
	fmt.Fprintf(w.out, "  a session with acr %q, amr %v, authenticated %s ago: passes\n", w.q.ACR, w.q.AMR, w.q.AuthAge)
	return nil
}

func orAny(s string) string {
	if s == "" {
		return "(any)"
	}
	return s
}

func maxAgeText(req *requirement) string {
	switch {
	case !req.hasMaxAge:
		return "(none)"
	case req.maxAge == 0:
		return "0 (a fresh login for every request)"
	}
	return req.maxAge.String()
}
