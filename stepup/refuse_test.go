package stepup

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// onServer puts r on a Caddy server whose handle_errors routes are routes,
// as Caddy's server does for every request.
func onServer(r *http.Request, routes caddyhttp.RouteList) *http.Request {
	srv := &caddyhttp.Server{}
	if routes != nil {
		srv.Errors = &caddyhttp.HTTPErrorConfig{Routes: routes}
	}
	return r.WithContext(context.WithValue(r.Context(), caddyhttp.ServerCtxKey, srv))
}

// refusedThrough serves r and returns the error ServeHTTP handed to Caddy
// (nil when the handler wrote the answer itself).
func refusedThrough(t *testing.T, th *testHandler, r *http.Request) (*httptest.ResponseRecorder, *caddy.Replacer, error) {
	t.Helper()
	repl := caddy.NewReplacer()
	r = r.WithContext(contextWithVars(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl), map[string]any{}))
	rec := httptest.NewRecorder()
	err := th.ServeHTTP(rec, r, caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		t.Fatal("a refused request reached the next handler")
		return nil
	}))
	return rec, repl, err
}

func TestRefusalsGoThroughCaddysErrorPipelineWhenTheSiteHasHandleErrors(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	cases := []struct {
		name   string
		r      *http.Request
		status int
		code   string
		header string
	}{
		{"an API challenge", request("GET", "http://127.0.0.1/admin", "Accept", "application/json"), http.StatusUnauthorized, errInsufficientAuth, "WWW-Authenticate"},
		{"an IdP outage", request("GET", "http://127.0.0.1/admin", "Accept", "text/html"), http.StatusServiceUnavailable, errUnavailable, "Retry-After"},
		{"a refused login", request("GET", "http://127.0.0.1/.stepup/callback?state=x&code=y"), http.StatusBadRequest, errLoginFailed, "Cache-Control"},
		{"a login link naming no rule", request("GET", "http://127.0.0.1/.stepup/login?rule=nope"), http.StatusBadRequest, errBadRequest, "Cache-Control"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rec, repl, err := refusedThrough(t, th, onServer(c.r, caddyhttp.RouteList{{}}))
			var he caddyhttp.HandlerError
			if !errors.As(err, &he) || he.StatusCode != c.status {
				t.Fatalf("returned %v, want caddyhttp.Error(%d)", err, c.status)
			}
			if rec.Code != http.StatusOK || rec.Body.Len() != 0 { // a recorder nobody wrote to says 200
				t.Errorf("the handler wrote the answer itself: %d %q", rec.Code, rec.Body)
			}
			if rec.Header().Get(c.header) == "" {
				t.Errorf("%s not set for the error routes to keep", c.header)
			}
			if got, _ := repl.GetString("http.stepup.error"); got != c.code {
				t.Errorf("{http.stepup.error} = %q, want %q", got, c.code)
			}
			if got, _ := repl.GetString("http.stepup.error_description"); got == "" {
				t.Error("{http.stepup.error_description} is empty")
			}
		})
	}
}

func TestWithoutMatchingHandleErrorsTheRFC9470JSONIsWritten(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	// Another site's handle_errors on the same server does not take ours.
	var other caddyhttp.MatcherSets
	other = append(other, caddyhttp.MatcherSet{caddyhttp.MatchHost{"other.example"}})
	for name, r := range map[string]*http.Request{
		"no server":             request("GET", "http://127.0.0.1/admin", "Accept", "application/json"),
		"no handle_errors":      onServer(request("GET", "http://127.0.0.1/admin", "Accept", "application/json"), nil),
		"another site's routes": onServer(request("GET", "http://127.0.0.1/admin", "Accept", "application/json"), caddyhttp.RouteList{{MatcherSets: other}}),
	} {
		t.Run(name, func(t *testing.T) {
			rec, repl, err := refusedThrough(t, th, r)
			if err != nil || rec.Code != http.StatusUnauthorized {
				t.Fatalf("returned %v, status %d", err, rec.Code)
			}
			var body challengeBody
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Error != errInsufficientAuth || !strings.Contains(body.StepUpURL, "/.stepup/login") {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if got, _ := repl.GetString("http.stepup.step_up_url"); got != body.StepUpURL {
				t.Errorf("{http.stepup.step_up_url} = %q, want %q", got, body.StepUpURL)
			}
		})
	}
}
