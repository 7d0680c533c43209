package examples

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

// explained is the part of `caddy stepup-explain --json` these tests read.
type explained struct {
	Verdict string `json:"verdict"`
	Status  int    `json:"status"`
	Stepup  []struct {
		Rule   string `json:"rule"`
		Reason string `json:"reason"`
	} `json:"stepup"`
	Reached string `json:"reached"`
}

// explain runs `caddy stepup-explain --json` in this process on the
// example's committed JSON: the config is provisioned and the request goes
// through the server's own routes and the real stepup handler.
func explain(t *testing.T, dir string, args ...string) explained {
	t.Helper()
	c, ok := caddycmd.Commands()["stepup-explain"]
	if !ok {
		t.Fatal("the stepup-explain command is not registered")
	}
	cmd := &cobra.Command{Use: c.Name, SilenceUsage: true}
	c.CobraFunc(cmd)
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetArgs(append([]string{"--config", filepath.Join(dir, "caddy.json"), "--json"}, args...))
	if err := cmd.Execute(); err != nil {
		t.Fatalf("stepup-explain %v: %v", args, err)
	}
	var e explained
	if err := json.Unmarshal(out.Bytes(), &e); err != nil {
		t.Fatalf("stepup-explain %v printed %q: %v", args, out.String(), err)
	}
	return e
}

// protectionCase is one request and what the example's comment promises.
type protectionCase struct {
	name    string
	args    []string // stepup-explain flags: --method, --url, --acr, ...
	verdict string   // challenge, pass, pass_no_rule
	rule    string   // the rule that must decide ("" when none applies)
	reason  string   // for a challenge: why (no_session, acr, amr, max_age)
}

// TestEachExampleProtectsWhatItsCommentSays sends, through each example's
// own config, the requests its comment speaks of: those that must be
// challenged are, those that must pass do.
func TestEachExampleProtectsWhatItsCommentSays(t *testing.T) {
	mfa := []string{"--acr", "urn:example:mfa", "--auth-age", "1m"}
	pwd := []string{"--acr", "urn:example:pwd", "--auth-age", "1m"}
	with := func(session []string, args ...string) []string {
		return append(append([]string{}, args...), session...)
	}
	cases := map[string][]protectionCase{
		"admin-paths": {
			{"the admin root needs a login", []string{"--url", "https://app.example.com/admin"}, "challenge", "admin", "no_session"},
			{"pages under it too", []string{"--url", "https://app.example.com/admin/users"}, "challenge", "admin", "no_session"},
			{"a path parameter spelling of /admin too", []string{"--url", "https://app.example.com/admin;x=1"}, "challenge", "admin", "no_session"},
			{"a trailing-dot spelling of /admin too", []string{"--url", "https://app.example.com/admin."}, "challenge", "admin", "no_session"},
			{"another case too", []string{"--url", "https://app.example.com/ADMIN/users"}, "challenge", "admin", "no_session"},
			{"a password login is not enough", with(pwd, "--url", "https://app.example.com/admin/users"), "challenge", "admin", "acr"},
			{"a second factor older than 30 minutes is not enough", []string{"--url", "https://app.example.com/admin/users", "--acr", "urn:example:mfa", "--auth-age", "31m"}, "challenge", "admin", "max_age"},
			{"a recent second factor passes", with(mfa, "--url", "https://app.example.com/admin/users"), "pass", "admin", ""},
			{"the rest of the site passes untouched", []string{"--url", "https://app.example.com/about"}, "pass_no_rule", "", ""},
		},
		"config-changes": {
			{"PUT on the collection itself is a change", []string{"--method", "PUT", "--url", "https://ops.example.com/api/config"}, "challenge", "config_change", "no_session"},
			{"POST is a change too", with(pwd, "--method", "POST", "--url", "https://ops.example.com/api/config/users"), "challenge", "config_change", "amr"},
			{"so is any other method", with(pwd, "--method", "PURGE", "--url", "https://ops.example.com/api/config/users"), "challenge", "config_change", "amr"},
			{"a change with a one-time code older than 5 minutes", []string{"--method", "DELETE", "--url", "https://ops.example.com/api/config/x", "--amr", "pwd,otp", "--auth-age", "6m"}, "challenge", "config_change", "max_age"},
			{"a change with a recent one-time code passes", []string{"--method", "PATCH", "--url", "https://ops.example.com/api/config", "--amr", "pwd,otp", "--auth-age", "1m"}, "pass", "config_change", ""},
			{"reading needs a login", []string{"--url", "https://ops.example.com/api/config"}, "challenge", "config_read", "no_session"},
			{"reading with a login passes", with(pwd, "--url", "https://ops.example.com/api/config/users"), "pass", "config_read", ""},
			{"the rest passes untouched", []string{"--url", "https://ops.example.com/status"}, "pass_no_rule", "", ""},
		},
		"money-movement": {
			{"a transfer without an amount header needs a fresh second factor", with(pwd, "--method", "POST", "--url", "https://bank.example.com/transfer"), "challenge", "money_out", "acr"},
			{"so does one with a second factor a minute old", with(mfa, "--method", "POST", "--url", "https://bank.example.com/transfer"), "challenge", "money_out", "max_age"},
			{"a payment by PUT", with(pwd, "--method", "PUT", "--url", "https://bank.example.com/payments/42", "--header", "X-Amount: 1"), "challenge", "money_out", "acr"},
			{"the payments collection itself", with(mfa, "--method", "POST", "--url", "https://bank.example.com/payments"), "challenge", "money_out", "max_age"},
			{"reading payments needs a recent second factor", with(pwd, "--url", "https://bank.example.com/payments/42"), "challenge", "payments_read", "acr"},
			{"which passes", with(mfa, "--url", "https://bank.example.com/payments/42"), "pass", "payments_read", ""},
			{"everything else needs a login", []string{"--url", "https://bank.example.com/account"}, "challenge", "default", "no_session"},
			{"and passes with one", with(pwd, "--url", "https://bank.example.com/account"), "pass", "default", ""},
		},
	}
	for dir, list := range cases {
		for _, c := range list {
			t.Run(dir+"/"+strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
				e := explain(t, dir, c.args...)
				if len(e.Stepup) != 1 {
					t.Fatalf("%v reached %d stepup handlers: %+v", c.args, len(e.Stepup), e)
				}
				s := e.Stepup[0]
				if e.Verdict != c.verdict || s.Rule != c.rule || s.Reason != c.reason {
					t.Errorf("%v: verdict %s, rule %q, reason %q; want %s, %q, %q", c.args, e.Verdict, s.Rule, s.Reason, c.verdict, c.rule, c.reason)
				}
				if c.verdict == "challenge" && e.Status != 401 {
					t.Errorf("%v: a challenge answered %d", c.args, e.Status)
				}
				if c.verdict != "challenge" && e.Reached != "reverse_proxy" {
					t.Errorf("%v: a request that passes went on to %q, not the upstream", c.args, e.Reached)
				}
			})
		}
	}
}
