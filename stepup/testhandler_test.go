package stepup

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/testclock"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// fakeDiscovery serves only a discovery document: enough to build
// authorization redirects. Token and key endpoints are exercised against a
// real OpenID Provider in the integration tests.
func fakeDiscovery(t *testing.T, claimsParam bool) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/.well-known/openid-configuration" {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                srv.URL,
			"authorization_endpoint":                srv.URL + "/authorize",
			"token_endpoint":                        srv.URL + "/token",
			"jwks_uri":                              srv.URL + "/jwks",
			"id_token_signing_alg_values_supported": []string{"RS256"},
			"claims_parameter_supported":            claimsParam,
		})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// deadIssuer is an issuer URL on a loopback port nothing listens on.
func deadIssuer(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL
	srv.Close()
	return u
}

// testRules are the unit tests' rules: /admin* needs urn:otp, /transfer a
// login at most 5 minutes old, /wire a fresh login for every request.
func testRules() []*Rule {
	five := caddy.Duration(5 * time.Minute)
	zero := caddy.Duration(0)
	return []*Rule{
		{Name: "admin", MatcherSetsRaw: caddyhttp.RawMatcherSets{{"path": json.RawMessage(`["/admin*"]`)}}, ACR: []string{"urn:otp"}},
		{Name: "transfer", MatcherSetsRaw: caddyhttp.RawMatcherSets{{"path": json.RawMessage(`["/transfer"]`)}}, MaxAge: &five},
		{Name: "wire", MatcherSetsRaw: caddyhttp.RawMatcherSets{{"path": json.RawMessage(`["/wire"]`)}}, MaxAge: &zero},
	}
}

type testHandler struct {
	*Handler
	clock *clock
}

func newTestHandler(t *testing.T, issuer string, configure func(h *Handler)) *testHandler {
	t.Helper()
	c := testclock.New(time.Unix(1_800_000_000, 0))
	h := &Handler{
		Provider:             ProviderConfig{Issuer: issuer, ClientID: "edge"},
		ACRLevels:            []string{"urn:pwd", "urn:otp"},
		InsecureLoopbackHTTP: true,
		UpstreamHeaders:      map[string]string{"X-User": "{http.auth.user.id}"},
		Rules:                testRules(),
	}
	if configure != nil {
		configure(h)
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	if err := h.provision(ctx, provisionEnv{now: c.Now, storage: testStorage(t)}); err != nil {
		t.Fatal(err)
	}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	if h.asserter != nil {
		t.Cleanup(h.asserter.close) // its re-signing worker
	}
	return &testHandler{Handler: h, clock: c}
}

// cookieFor seals s as the session cookie a browser would send.
func (th *testHandler) cookieFor(t *testing.T, s *session.Session) string {
	t.Helper()
	return th.cookies.Plain.Session + "=" + sealSession(t, th.Handler, s)
}

// sealSession seals s under h's keys, as the login callback does.
func sealSession(tb testing.TB, h *Handler, s *session.Session) string {
	tb.Helper()
	sealed, err := h.sessions.Seal(context.Background(), s)
	if err != nil {
		tb.Fatal(err)
	}
	return sealed
}

type served struct {
	rec      *httptest.ResponseRecorder
	upstream *http.Request // nil when the request did not reach next
	repl     *caddy.Replacer
}

func (th *testHandler) serve(t *testing.T, r *http.Request) served {
	t.Helper()
	repl := caddy.NewReplacer()
	ctx := context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl)
	if _, ok := ctx.Value(caddyhttp.VarsCtxKey).(map[string]any); !ok {
		ctx = contextWithVars(ctx, map[string]any{})
	}
	r = r.WithContext(ctx)
	out := served{rec: httptest.NewRecorder(), repl: repl}
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		out.upstream = r
		w.WriteHeader(http.StatusOK)
		return nil
	})
	if err := th.ServeHTTP(out.rec, r, next); err != nil {
		if he, ok := err.(caddyhttp.HandlerError); ok {
			out.rec.Code = he.StatusCode
		} else {
			t.Fatalf("ServeHTTP returned a non-HTTP error: %v", err)
		}
	}
	if th.asserter != nil {
		// A background re-signing of the assertion finishes before the
		// test's next request, as it would in the seconds between a
		// client's requests.
		th.asserter.settle()
	}
	return out
}

// contextWithVars gives the request the variables map Caddy's server
// creates for every request (client_ip and friends live there).
func contextWithVars(ctx context.Context, vars map[string]any) context.Context {
	return context.WithValue(ctx, caddyhttp.VarsCtxKey, vars)
}

func request(method, target string, headers ...string) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

func (th *testHandler) session(acr string, amr ...string) *session.Session {
	now := th.clock.Now()
	return &session.Session{Subject: "alice", ACR: acr, AMR: amr, AuthTime: now, Issued: now, Expires: now.Add(time.Hour)}
}

// flowCookiesOf keeps the flow cookies (scoped to the callback path) of a
// response's cookies, leaving out the flow slot counter.
func flowCookiesOf(cs []*http.Cookie) []*http.Cookie {
	var out []*http.Cookie
	for _, c := range cs {
		if c.Path == "/.stepup/callback" {
			out = append(out, c)
		}
	}
	return out
}
