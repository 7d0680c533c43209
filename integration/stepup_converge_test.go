package integration

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/caddyproc"
	"github.com/caddy-stepup/caddy-stepup/integration/internal/hydra"
	"github.com/caddy-stepup/caddy-stepup/internal/rogueop"
)

// Three IdP behaviours, played by Hydra's login app. Hydra itself skips the
// login step (req.Skip) while it holds a remembered session and neither
// prompt=login nor an exceeded max_age forces a new one; what the app then
// answers is the OP's policy on acr_values.

// hintOnly treats acr_values as a hint, as several certified OPs do: a
// remembered session is answered as it is; only a login Hydra did not skip
// authenticates the user, at the strongest level asked for.
func hintOnly(req hydra.LoginRequest) hydra.LoginDecision {
	if req.Skip && req.Previous != nil {
		return hydra.LoginDecision{Subject: req.Subject, ACR: req.Previous.ACR, AMR: req.Previous.AMR, Remember: true}
	}
	return authenticateAsAsked(req)
}

// honouring steps the user up whenever acr_values asks for more than the
// remembered session has, with or without prompt=login.
func honouring(req hydra.LoginRequest) hydra.LoginDecision {
	if req.Skip && req.Previous != nil && !(slices.Contains(req.ACRValues, acrMFA) && req.Previous.ACR != acrMFA) {
		return hydra.LoginDecision{Subject: req.Subject, ACR: req.Previous.ACR, AMR: req.Previous.AMR, Remember: true}
	}
	d := authenticateAsAsked(req)
	if req.Skip {
		d.Subject = req.Subject
	}
	return d
}

// passwordOnly never authenticates above a password, whatever is asked.
func passwordOnly(req hydra.LoginRequest) hydra.LoginDecision {
	d := hydra.LoginDecision{Subject: "alice", ACR: acrPwd, AMR: []string{"pwd"}, Remember: true}
	if req.Skip {
		d.Subject = req.Subject
	}
	return d
}

func authenticateAsAsked(req hydra.LoginRequest) hydra.LoginDecision {
	if slices.Contains(req.ACRValues, acrMFA) {
		return hydra.LoginDecision{Subject: "alice", ACR: acrMFA, AMR: []string{"pwd", "otp"}, Remember: true}
	}
	return hydra.LoginDecision{Subject: "alice", ACR: acrPwd, AMR: []string{"pwd"}, Remember: true}
}

// A user signed in with a password, at our site and at the OP, opens a page
// that needs MFA. The step-up must converge, in one or two trips to the OP,
// whether the OP honours acr_values or treats them as a hint, and in both
// step_up_prompt modes (issue 13, item 1).
func TestStepUpConvergesWhetherTheOPHonoursACRValuesOrNot(t *testing.T) {
	type want struct {
		prompts []string // prompt of each login request of the step-up
		acr     string   // "" when the step-up must be refused
	}
	cases := []struct {
		name, mode string
		op         func(hydra.LoginRequest) hydra.LoginDecision
		want       want
	}{
		{"hint-only OP, default (login)", "", hintOnly, want{[]string{"login"}, acrMFA}},
		{"hint-only OP, retry", "retry", hintOnly, want{[]string{"", "login"}, acrMFA}},
		{"honouring OP, default (login)", "", honouring, want{[]string{"login"}, acrMFA}},
		{"honouring OP, retry", "retry", honouring, want{[]string{""}, acrMFA}},
		// The loop guard holds: an OP that never goes above a password
		// gets one retry at most, then the user sees the refusal.
		{"password-only OP, default (login)", "", passwordOnly, want{[]string{"login"}, ""}},
		{"password-only OP, retry", "retry", passwordOnly, want{[]string{"", "login"}, ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			idp := hydra.Start(t, hydra.Options{})
			e := &env{idp: idp, upstream: startUpstream(t)}
			extra := ""
			if tc.mode != "" {
				extra = "step_up_prompt " + tc.mode
			}
			e.caddy = caddyproc.Start(t, caddyproc.Options{
				Site: siteConfig(idp.Issuer(), e.upstream.URL, extra),
				Env:  []string{"STEPUP_TEST_SECRET=" + edgeSecret},
			})
			e.registerEdge(t, e.caddy)
			b := e.caddy.Client()
			idp.OnLogin(tc.op)
			if got := navigate(t, b, e.caddy.URL()+"/").echoed(t); got.ACR != acrPwd {
				t.Fatalf("password sign-in: %+v", got)
			}
			idp.ResetLoginRequests()

			v := navigate(t, b, e.caddy.URL()+"/admin")
			var prompts []string
			for _, lr := range idp.LoginRequests() {
				prompts = append(prompts, lr.Prompt)
			}
			if !slices.Equal(prompts, tc.want.prompts) {
				t.Errorf("prompt of each login request: %q, want %q", prompts, tc.want.prompts)
			}
			if tc.want.acr == "" {
				if v.status != http.StatusForbidden || !strings.Contains(v.body, "not strong enough") {
					t.Fatalf("an OP that never steps up: %d %s, want the 403 refusal", v.status, truncate(v.body))
				}
				return
			}
			if got := v.echoed(t); got.ACR != tc.want.acr || got.Rule != "admin" {
				t.Fatalf("after the step-up: %+v, want acr %s on /admin", got, tc.want.acr)
			}
		})
	}
}

// An OP that ignores max_age (it answers with its existing session's
// auth_time unless prompt=login forces a new authentication) gets one
// retry with prompt=login, which it does honour: the recency rule is met
// instead of refused (issue 13, item 1).
func TestRecencyStepUpConvergesAgainstAnOPThatIgnoresMaxAge(t *testing.T) {
	e := newRogueEnv(t, rogueSite{})
	sessionStart := time.Now().Add(-time.Hour).Unix()
	e.op.OnToken(func(g rogueop.Grant) rogueop.Reply {
		c := e.op.Claims(g)
		if g.Prompt != "login" {
			c = c.With("auth_time", sessionStart)
		}
		return rogueop.Tokens(e.op.SignRS256(c))
	})
	c := e.freshClient()
	tr, _ := walk(t, c, e.caddy.URL()+"/settings", nil)
	if last := tr.last(); last.status != http.StatusOK {
		t.Fatalf("the recency step-up ended with %d: %s", last.status, truncate(last.body))
	}
	var prompts []string
	for _, g := range e.op.Authorizations() {
		prompts = append(prompts, g.Prompt)
	}
	if !slices.Equal(prompts, []string{"", "login"}) {
		t.Fatalf("prompt of each authorization request: %q, want one without and one retry with prompt=login", prompts)
	}
}
