package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/caddyproc"
	"github.com/caddy-stepup/caddy-stepup/integration/internal/hydra"
)

// ACR values the test IdP grants, weakest first.
const (
	acrPwd = "urn:stepup:pwd"
	acrMFA = "urn:stepup:mfa"
)

const (
	edgeClientID = "stepup-edge"
	edgeSecret   = "edge-secret-for-tests-only"
	apiAudience  = "https://api.stepup.test"
)

// echo is the upstream: it answers with what reached it, so tests can see
// exactly which headers and cookies crossed the edge.
type echoed struct {
	Path   string `json:"path"`
	Method string `json:"method"`
	User   string `json:"user"`
	ACR    string `json:"acr"`
	Rule   string `json:"rule"`
	Cookie string `json:"cookie"`
}

func startUpstream(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(writeEcho))
	t.Cleanup(srv.Close)
	return srv
}

// writeEcho answers with what reached the upstream.
func writeEcho(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(echoed{
		Path: r.URL.Path, Method: r.Method, User: r.Header.Get("X-User"), ACR: r.Header.Get("X-Acr"),
		Rule: r.Header.Get("X-Rule"), Cookie: r.Header.Get("Cookie"),
	})
}

// siteConfig is the stepup site used by most tests: every page needs a
// login, /admin needs MFA, /settings a login no older than settingsMaxAge,
// /api/ MFA (for bearer tokens as well).
func siteConfig(issuer, upstream, extra string) string {
	return fmt.Sprintf(`	stepup {
		issuer %s
		client_id %s
		client_secret {env.STEPUP_TEST_SECRET}
		insecure_loopback_http
		require_login all
		acr_levels %s %s
		bearer_audience %s
		upstream_header X-User {http.auth.user.id}
		upstream_header X-Acr {http.auth.user.acr}
		upstream_header X-Rule {http.stepup.rule}
		rule admin {
			match /admin*
			acr %s
		}
		rule settings {
			match /settings*
			max_age 2s
		}
		rule api {
			match /api/*
			acr %s
		}
		%s
	}
	reverse_proxy %s`, issuer, edgeClientID, acrPwd, acrMFA, apiAudience, acrMFA, acrMFA, extra, strings.TrimPrefix(upstream, "http://"))
}

type env struct {
	idp      *hydra.Server
	caddy    *caddyproc.Caddy
	upstream *httptest.Server
	client   hydra.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, startUpstream(t))
}

// newEnvWith is newEnv with upstream behind the site.
func newEnvWith(t *testing.T, upstream *httptest.Server) *env {
	t.Helper()
	e := &env{idp: hydra.Start(t, hydra.Options{}), upstream: upstream}
	e.caddy = caddyproc.Start(t, caddyproc.Options{
		Site: siteConfig(e.idp.Issuer(), e.upstream.URL, hydraBearer),
		Env:  []string{"STEPUP_TEST_SECRET=" + edgeSecret},
	})
	e.client = e.registerEdge(t, e.caddy)
	return e
}

// hydraBearer lets a site accept Hydra's JWT access tokens: Hydra v2.3
// types them `JWT`, not RFC 9068's `at+jwt`, so they pass only on their
// claims (audience, no nonce, no at_hash) under insecure_bearer_untyped.
const hydraBearer = "insecure_bearer_untyped"

// registerEdge registers the edge client with redirect URIs for the given
// Caddy processes.
func (e *env) registerEdge(t *testing.T, caddies ...*caddyproc.Caddy) hydra.Client {
	var uris []string
	for _, c := range caddies {
		uris = append(uris, c.URL()+"/.stepup/callback")
	}
	return e.idp.CreateClient(t, hydra.Client{ID: edgeClientID, Secret: edgeSecret, RedirectURIs: uris, Scopes: []string{"openid", "profile"}})
}

// grant makes every following login at the IdP succeed for sub with acr.
func (e *env) grant(sub, acr string, amr ...string) {
	e.idp.OnLogin(func(hydra.LoginRequest) hydra.LoginDecision {
		return hydra.LoginDecision{Subject: sub, ACR: acr, AMR: amr}
	})
}

// visit is a browser navigation: it follows redirects through Caddy, Hydra
// and the login app, and returns the final response with its body read.
type visit struct {
	status int
	body   string
	hops   []string
	header http.Header
}

// navigation is the request a browser sends when it follows a link or a
// redirect: GET, wanting HTML, with fetch metadata saying so. u is used as
// is, so exact paths and queries survive.
func navigation(u *url.URL) *http.Request {
	req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
	req.URL = u
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	return req
}

func navigate(t *testing.T, c *http.Client, target string) visit {
	t.Helper()
	var v visit
	for range 25 {
		u, err := url.Parse(target)
		if err != nil {
			t.Fatalf("navigate to %q: %v", target, err)
		}
		resp, err := c.Do(navigation(u))
		if err != nil {
			t.Fatalf("GET %s: %v", target, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		v.hops = append(v.hops, target)
		if loc := resp.Header.Get("Location"); resp.StatusCode >= 300 && resp.StatusCode < 400 && loc != "" {
			next, err := resp.Request.URL.Parse(loc)
			if err != nil {
				t.Fatalf("bad Location %q: %v", loc, err)
			}
			target = next.String()
			continue
		}
		v.status, v.body, v.header = resp.StatusCode, string(body), resp.Header
		return v
	}
	t.Fatalf("too many redirects: %v", v.hops)
	return v
}

func (v visit) echoed(t *testing.T) echoed {
	t.Helper()
	var e echoed
	if v.status != http.StatusOK || json.Unmarshal([]byte(v.body), &e) != nil {
		t.Fatalf("did not reach the upstream: %d %s (hops %v)", v.status, truncate(v.body), v.hops)
	}
	return e
}

func (v visit) wentToIdP(issuer string) bool {
	for _, h := range v.hops {
		if strings.HasPrefix(h, issuer) {
			return true
		}
	}
	return false
}

// api sends a non-navigation request, as fetch() or an API client would.
func api(t *testing.T, c *http.Client, method, target string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, target, nil)
	req.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(body)
}

func truncate(s string) string {
	if len(s) > 400 {
		return s[:400] + "…"
	}
	return s
}

func sessionCookie(t *testing.T, c *http.Client, site string) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(site)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "__Host-stepup" {
			return ck
		}
	}
	t.Fatalf("no session cookie for %s", site)
	return nil
}
