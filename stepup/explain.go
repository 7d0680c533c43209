package stepup

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "stepup-explain",
		Usage: "--config <path> [--adapter <name>] --url <url> [--method <method>] [--ip <addr>] [--header 'Name: value'...] [--session] [--acr <acr>] [--amr <m>...] [--auth-age <duration>] [--login-ip <addr>] [--device known|new] [--json]",
		Short: "Explains what the server would do with a request, through its own routes",
		Long: `
Loads and provisions the config's HTTP app as 'caddy run' would, without
starting listeners or contacting anything, picks the server that listens on
the URL's port, and sends the request you describe through that server's
own compiled routes: matchers, handle groups, rewrites, every stepup handler
(rules, sessions, the risk engine) and handle_errors. It prints which rule
applied, the risk score, and the answer the client would get.

Describe a session with --acr/--amr/--auth-age (or --session): it is sealed
with the handler's own keys in a throwaway storage directory. Risk facts come
from --ip (the client address, looked up in the configured lists and
databases), --login-ip (where that session logged in; default --ip) and
--device (known: the browser the login was made on; new: another one).

explain stops where a request would leave the process (reverse_proxy,
file_server, forward_auth, ...) and names that handler; a browser that would
be sent to the identity provider is reported as such, without discovery.`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Flags().StringP("config", "c", "", "Config file to load")
			cmd.Flags().StringP("adapter", "a", "", "Name of the config adapter")
			cmd.Flags().String("url", "", "Request URL, e.g. https://app.example.com/admin")
			cmd.Flags().String("method", http.MethodGet, "Request method")
			cmd.Flags().String("ip", "192.0.2.1", "Client IP address")
			cmd.Flags().StringArray("header", nil, "Request header 'Name: value' (repeatable)")
			cmd.Flags().Bool("session", false, "The request carries a session (implied by --acr, --amr, --auth-age)")
			cmd.Flags().String("subject", "", "Subject of that session")
			cmd.Flags().String("acr", "", "acr of that session")
			cmd.Flags().StringSlice("amr", nil, "amr values of that session")
			cmd.Flags().Duration("auth-age", 0, "How long ago that session's user authenticated")
			cmd.Flags().String("login-ip", "", "Client IP the session logged in from (default: --ip)")
			cmd.Flags().String("device", "known", "known: the browser the session logged in on; new: another one")
			cmd.Flags().Bool("json", false, "Print the explanation as JSON")
			cmd.RunE = caddycmd.WrapCommandFuncForCobra(func(fl caddycmd.Flags) (int, error) {
				return cmdExplain(fl, cmd.OutOrStdout())
			})
		},
	})
}

func cmdExplain(fl caddycmd.Flags, out io.Writer) (int, error) {
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
		Method: fl.String("method"), URL: fl.String("url"), IP: fl.String("ip"), Headers: headers,
		Session: fl.Bool("session"), Subject: fl.String("subject"), ACR: fl.String("acr"), AMR: amr, AuthAge: age,
		LoginIP: fl.String("login-ip"), Device: fl.String("device"),
	}
	e, err := runExplain(cfg, q)
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	if fl.Bool("json") {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		err = enc.Encode(e)
	} else {
		err = e.print(out, q)
	}
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	return caddy.ExitCodeSuccess, nil
}

// print writes the explanation for people.
func (e *explanation) print(out io.Writer, q explainQuery) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s from %s", q.Method, q.URL, q.IP)
	if q.hasSession() {
		fmt.Fprintf(&b, " with a session (acr %q, amr %v, authenticated %s ago)", q.ACR, q.AMR, q.AuthAge)
	} else {
		b.WriteString(" without a session")
	}
	fmt.Fprintf(&b, "\nserver %s (listens on %s)\n", e.Server, strings.Join(e.Listen, ", "))
	if len(e.Stepup) == 0 {
		b.WriteString("no stepup handler sees this request\n")
	}
	for i, s := range e.Stepup {
		fmt.Fprintf(&b, "stepup handler %d:\n", i+1)
		switch {
		case s.Rule == "" && s.passed:
			b.WriteString("  no rule matches: the request passes untouched\n")
		case s.Rule != "":
			report := ""
			if s.ReportOnly {
				report = " (report only)"
			}
			fmt.Fprintf(&b, "  rule: %s%s\n", s.Rule, report)
			fmt.Fprintf(&b, "  demands: acr %s, amr %s, max_age %s\n", orAny(s.ACR), orAny(s.AMR), orNone(s.MaxAge))
		}
		if s.RiskScore != "" {
			fmt.Fprintf(&b, "  risk score: %s (%s)\n", s.RiskScore, orNone(s.RiskReasons))
		}
		if s.Result != "" {
			fmt.Fprintf(&b, "  result: %s", s.Result)
			if s.Reason != "" {
				fmt.Fprintf(&b, " (%s)", s.Reason)
			}
			b.WriteByte('\n')
		}
		if s.NeedsIdP {
			b.WriteString("  the handler turns to the identity provider here (explain does not contact it)\n")
		}
	}
	fmt.Fprintf(&b, "verdict: %s\n", e.Verdict)
	if e.Verdict == verdictLogin {
		b.WriteString("answer: a redirect to the identity provider's authorization endpoint\n")
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, "answer: %d %s\n", e.Status, http.StatusText(e.Status))
		for _, name := range []string{"Www-Authenticate", "Location", "Retry-After"} {
			if v := e.Headers[name]; v != "" {
				fmt.Fprintf(&b, "  %s: %s\n", http.CanonicalHeaderKey(name), v)
			}
		}
	}
	if e.Reached != "" {
		fmt.Fprintf(&b, "then the request goes on to %s (explain stops there)\n", e.Reached)
	}
	_, err := io.WriteString(out, b.String())
	return err
}

func orAny(s string) string {
	if s == "" {
		return "(any)"
	}
	return s
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func maxAgeText(req *decision.Requirement) string {
	switch {
	case !req.HasMaxAge:
		return ""
	case req.MaxAge == 0:
		return "0 (a fresh login for every request)"
	}
	return req.MaxAge.String()
}
