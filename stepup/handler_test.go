package stepup

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
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
	c := newClock(time.Unix(1_800_000_000, 0))
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
	if err := h.provision(ctx, provisionEnv{now: c.now, storage: testStorage(t)}); err != nil {
		t.Fatal(err)
	}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	return &testHandler{Handler: h, clock: c}
}

// cookieFor seals s as the session cookie a browser would send.
func (th *testHandler) cookieFor(t *testing.T, s *session) string {
	t.Helper()
	return th.plainNames.session + "=" + sealSession(t, th.Handler, s)
}

// sealSession seals s under h's keys, as the login callback does.
func sealSession(tb testing.TB, h *Handler, s *session) string {
	tb.Helper()
	raw, err := marshalSession(s)
	if err != nil {
		tb.Fatal(err)
	}
	sealed, err := h.sealer.seal(context.Background(), sessionPurpose, raw)
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

func (th *testHandler) session(acr string, amr ...string) *session {
	now := th.clock.now()
	return &session{Subject: "alice", ACR: acr, AMR: amr, AuthTime: now, Issued: now, Expires: now.Add(time.Hour)}
}

func TestUnprotectedRequestPassesWithIdentityHeadersAndOurCookiesStripped(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	out := th.serve(t, request("GET", "http://127.0.0.1/public", "X-User", "mallory", "Cookie", "a=1; stepup=forged"))
	if out.upstream == nil {
		t.Fatalf("public request did not pass: %d", out.rec.Code)
	}
	if v := out.upstream.Header.Get("X-User"); v != "" {
		t.Fatalf("client-supplied identity header reached upstream: %q", v)
	}
	if c := out.upstream.Header.Get("Cookie"); c != "a=1" {
		t.Fatalf("upstream Cookie = %q, want our cookie removed", c)
	}
}

func TestSufficientSessionPassesWithIdentity(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	cookie := th.cookieFor(t, th.session("urn:otp", "pwd", "otp"))
	out := th.serve(t, request("GET", "http://127.0.0.1/admin/users", "Cookie", cookie, "X-User", "mallory"))
	if out.upstream == nil {
		t.Fatalf("sufficient session was refused: %d %s", out.rec.Code, out.rec.Body)
	}
	if got := out.upstream.Header.Get("X-User"); got != "alice" {
		t.Fatalf("X-User = %q, want the session's subject", got)
	}
	for key, want := range map[string]string{"http.auth.user.id": "alice", "http.auth.user.acr": "urn:otp", "http.auth.user.amr": "pwd otp", "http.stepup.rule": "admin"} {
		if got, _ := out.repl.GetString(key); got != want {
			t.Errorf("{%s} = %q, want %q", key, got, want)
		}
	}
	if strings.Contains(out.upstream.Header.Get("Cookie"), "stepup") {
		t.Fatal("session cookie travelled upstream")
	}
}

func TestWeakSessionGetsRFC9470ChallengeAsAnAPIClient(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	cookie := th.cookieFor(t, th.session("urn:pwd", "pwd"))
	out := th.serve(t, request("GET", "http://127.0.0.1/admin", "Cookie", cookie, "Accept", "application/json"))
	if out.upstream != nil || out.rec.Code != http.StatusUnauthorized {
		t.Fatalf("status %d, upstream reached: %v", out.rec.Code, out.upstream != nil)
	}
	want := `Bearer error="insufficient_user_authentication", error_description="a stronger authentication is required (acr urn:otp)", acr_values="urn:otp"`
	if got := out.rec.Header().Get("WWW-Authenticate"); got != want {
		t.Fatalf("WWW-Authenticate\n got %s\nwant %s", got, want)
	}
	var body challengeBody
	if err := json.Unmarshal(out.rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.StepUpURL != "http://127.0.0.1/.stepup/login?return_to=%2Fadmin&rule=admin" {
		t.Fatalf("step_up_url = %q", body.StepUpURL)
	}
}

func TestPostIsNeverRedirected(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	out := th.serve(t, request("POST", "http://127.0.0.1/transfer", "Accept", "text/html", "Sec-Fetch-Mode", "navigate"))
	if out.rec.Code != http.StatusUnauthorized || out.rec.Header().Get("Location") != "" {
		t.Fatalf("POST answered %d Location %q; want 401 without redirect", out.rec.Code, out.rec.Header().Get("Location"))
	}
	if got := out.rec.Header().Get("WWW-Authenticate"); !strings.Contains(got, "max_age=300") {
		t.Fatalf("challenge lacks max_age: %s", got)
	}
	var body challengeBody
	_ = json.Unmarshal(out.rec.Body.Bytes(), &body)
	if !strings.Contains(body.StepUpURL, "return_to=%2F&") {
		t.Fatalf("a POST's step-up URL must return to /, got %s", body.StepUpURL)
	}
}

func TestTamperedCookieIsNoSessionNotAnError(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	cookie := th.cookieFor(t, th.session("urn:otp"))
	tampered := cookie[:len(cookie)-3] + "AAA"
	for name, c := range map[string]string{"tampered": tampered, "truncated": cookie[:len(cookie)/2], "garbage": th.plainNames.session + "=%%%", "oversized": th.plainNames.session + "=" + strings.Repeat("A", 5000)} {
		t.Run(name, func(t *testing.T) {
			out := th.serve(t, request("GET", "http://127.0.0.1/admin", "Cookie", c))
			if out.rec.Code != http.StatusUnauthorized || out.upstream != nil {
				t.Fatalf("status %d; want a 401 challenge", out.rec.Code)
			}
		})
	}
}

func TestIdPOutageKeepsProtectedRoutesClosedAndOthersOpen(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	out := th.serve(t, request("GET", "http://127.0.0.1/admin", "Accept", "text/html"))
	if out.rec.Code != http.StatusServiceUnavailable || out.upstream != nil {
		t.Fatalf("protected navigation during outage: %d", out.rec.Code)
	}
	if out.rec.Header().Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	if out := th.serve(t, request("GET", "http://127.0.0.1/", "Accept", "text/html")); out.upstream == nil {
		t.Fatal("unprotected route closed during outage")
	}
	// A valid session still passes: only challenges need the IdP.
	cookie := th.cookieFor(t, th.session("urn:otp"))
	if out := th.serve(t, request("GET", "http://127.0.0.1/admin", "Cookie", cookie)); out.upstream == nil {
		t.Fatalf("valid session refused during outage: %d", out.rec.Code)
	}
}

func TestNavigationRedirectsToTheIdPWithEveryProtection(t *testing.T) {
	idp := fakeDiscovery(t, true)
	th := newTestHandler(t, idp.URL, nil)
	cookie := th.cookieFor(t, th.session("urn:pwd"))
	out := th.serve(t, request("GET", "http://127.0.0.1/admin?tab=1", "Accept", "text/html", "Cookie", cookie))
	if out.rec.Code != http.StatusFound {
		t.Fatalf("status %d, want 302", out.rec.Code)
	}
	loc, err := url.Parse(out.rec.Header().Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), idp.URL+"/authorize?") {
		t.Fatalf("Location = %v", loc)
	}
	q := loc.Query()
	for key, want := range map[string]string{
		"response_type": "code", "client_id": "edge", "redirect_uri": "http://127.0.0.1/.stepup/callback",
		"code_challenge_method": "S256", "acr_values": "urn:otp", "login_hint": "alice", "scope": "openid",
		"claims": `{"id_token":{"acr":{"essential":true,"values":["urn:otp"]}}}`,
	} {
		if got := q.Get(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	for _, key := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(key)) < 43 {
			t.Errorf("%s = %q, want 256 bits of randomness", key, q.Get(key))
		}
	}
	if q.Has("max_age") {
		t.Errorf("a rule without max_age sent max_age: %v", q)
	}
	if q.Get("prompt") != "login" {
		t.Errorf("prompt = %q, want login: the session's acr falls short, and an OP may answer acr_values with that session", q.Get("prompt"))
	}
	cookies := flowCookiesOf(out.rec.Result().Cookies())
	if len(cookies) != 1 || cookies[0].Name != flowCookiePrefix+q.Get("state")[:flowNameIDLen] || cookies[0].Secure ||
		cookies[0].Path != "/.stepup/callback" || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("flow cookie = %+v", cookies)
	}
}

func TestFreshLoginRuleSendsPromptLoginAndMaxAgeZero(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	out := th.serve(t, request("GET", "http://127.0.0.1/wire", "Accept", "text/html"))
	loc, _ := url.Parse(out.rec.Header().Get("Location"))
	if q := loc.Query(); q.Get("max_age") != "0" || q.Get("prompt") != "login" || q.Has("claims") || q.Has("login_hint") {
		t.Fatalf("query = %v", q)
	}
}

func TestFreshLoginPassesOnceThenAsksAgain(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	s := th.session("urn:pwd")
	s.LoginRule = "wire"
	first := th.serve(t, request("GET", "http://127.0.0.1/wire", "Accept", "text/html", "Cookie", th.cookieFor(t, s)))
	if first.upstream == nil {
		t.Fatalf("fresh login did not pass: %d", first.rec.Code)
	}
	spent := first.rec.Result().Cookies()
	if len(spent) != 1 || spent[0].Name != th.plainNames.session {
		t.Fatalf("the pass was not marked spent: %+v", spent)
	}
	second := th.serve(t, request("GET", "http://127.0.0.1/wire", "Accept", "text/html", "Cookie", spent[0].Name+"="+spent[0].Value))
	if second.upstream != nil || second.rec.Code != http.StatusFound {
		t.Fatalf("second request with a spent pass: %d", second.rec.Code)
	}
}

func TestLoopGuardExplainsInsteadOfRedirectingAgain(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	s := th.session("urn:pwd") // a login for "admin" just completed, but with a weak acr
	s.LoginRule = "admin"
	out := th.serve(t, request("GET", "http://127.0.0.1/admin", "Accept", "text/html", "Cookie", th.cookieFor(t, s)))
	if out.rec.Code != http.StatusForbidden || !strings.Contains(out.rec.Body.String(), "still does not meet") {
		t.Fatalf("status %d body %s", out.rec.Code, out.rec.Body)
	}
	th.clock.add(decision.LoopWindow + time.Second)
	out = th.serve(t, request("GET", "http://127.0.0.1/admin", "Accept", "text/html", "Cookie", th.cookieFor(t, s)))
	if out.rec.Code != http.StatusFound {
		t.Fatalf("after the loop window the user should be able to retry, got %d", out.rec.Code)
	}
}

func TestRequireLoginAllProtectsUnmatchedRequests(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), func(h *Handler) { h.RequireLogin = "all" })
	out := th.serve(t, request("GET", "http://127.0.0.1/anything", "Accept", "application/json"))
	if out.rec.Code != http.StatusUnauthorized {
		t.Fatalf("status %d", out.rec.Code)
	}
	if got := out.rec.Header().Get("WWW-Authenticate"); strings.Contains(got, "acr_values") {
		t.Fatalf("base login asks for an acr: %s", got)
	}
	cookie := th.cookieFor(t, th.session("urn:pwd"))
	if out := th.serve(t, request("GET", "http://127.0.0.1/anything", "Cookie", cookie)); out.upstream == nil {
		t.Fatalf("session refused by base login: %d", out.rec.Code)
	}
}

func TestBearerTokensAreRefusedWhenNotEnabled(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	out := th.serve(t, request("GET", "http://127.0.0.1/admin", "Authorization", "Bearer abc.def.ghi"))
	if out.rec.Code != http.StatusUnauthorized || !strings.Contains(out.rec.Header().Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("status %d header %q", out.rec.Code, out.rec.Header().Get("WWW-Authenticate"))
	}
}

func TestLoginEndpointRefusesUnknownRulesAndOffsiteReturns(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	if out := th.serve(t, request("GET", "http://127.0.0.1/.stepup/login?rule=nope")); out.rec.Code != http.StatusBadRequest {
		t.Fatalf("unknown rule: %d", out.rec.Code)
	}
	out := th.serve(t, request("GET", "http://127.0.0.1/.stepup/login?rule=admin&return_to=//evil.example"))
	if out.rec.Code != http.StatusFound {
		t.Fatalf("login start: %d", out.rec.Code)
	}
	c := flowCookiesOf(out.rec.Result().Cookies())[0]
	plain, err := th.sealer.open(context.Background(), flowPurpose, c.Value)
	if err != nil {
		t.Fatal(err)
	}
	var f flowState
	_ = json.Unmarshal(plain, &f)
	if f.ReturnTo != "/" || f.Rule != "admin" {
		t.Fatalf("flow = %+v; want return_to / and rule admin", f)
	}
}

func TestLogoutClearsTheSession(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	out := th.serve(t, request("POST", "http://127.0.0.1/.stepup/logout"))
	c := out.rec.Result().Cookies()
	if out.rec.Code != http.StatusSeeOther || len(c) != 1 || c[0].MaxAge >= 0 || c[0].Name != th.plainNames.session {
		t.Fatalf("status %d cookies %+v", out.rec.Code, c)
	}
}

func TestShortMaxAgeExpiryIsNotMistakenForALoop(t *testing.T) {
	two := caddy.Duration(2 * time.Second)
	th := newTestHandler(t, fakeDiscovery(t, false).URL, func(h *Handler) { h.Rules[1].MaxAge = &two })
	s := th.session("urn:pwd") // logged in for "transfer" (max_age 2s) just now
	s.LoginRule = "transfer"
	th.clock.add(3 * time.Second)
	out := th.serve(t, request("GET", "http://127.0.0.1/transfer", "Accept", "text/html", "Cookie", th.cookieFor(t, s)))
	if out.rec.Code != http.StatusFound {
		t.Fatalf("an aged login got %d, want a redirect for a fresh one", out.rec.Code)
	}
}

func TestCookiesOverHTTPSAreSecureAndPrefixed(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	r := request("GET", "https://app.example/admin", "Accept", "text/html")
	out := th.serve(t, r)
	c := flowCookiesOf(out.rec.Result().Cookies())
	if len(c) != 1 || !strings.HasPrefix(c[0].Name, "__Secure-stepup_flow_") || !c[0].Secure {
		t.Fatalf("flow cookie over HTTPS: %+v", c)
	}
	loc, _ := url.Parse(out.rec.Header().Get("Location"))
	if got := loc.Query().Get("redirect_uri"); got != "https://app.example/.stepup/callback" {
		t.Fatalf("redirect_uri = %q", got)
	}
	s := th.session("urn:otp")
	raw, _ := marshalSession(s)
	sealed, _ := th.sealer.seal(context.Background(), sessionPurpose, raw)
	if out := th.serve(t, request("GET", "https://app.example/admin", "Cookie", "__Host-stepup="+sealed)); out.upstream == nil {
		t.Fatalf("__Host- session over HTTPS refused: %d", out.rec.Code)
	}
	if out := th.serve(t, request("GET", "https://app.example/admin", "Cookie", "stepup="+sealed)); out.upstream != nil {
		t.Fatal("an unprefixed session cookie was accepted over HTTPS")
	}
}

func TestIdentityHeaderLookAlikesAreStripped(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	r := request("GET", "http://127.0.0.1/public")
	// Non-canonical keys on purpose: they are what a client can send.
	plant := func(h http.Header, key, value string) { h[key] = []string{value} }
	plant(r.Header, "X_user", "mallory")
	plant(r.Header, "X.User", "mallory")
	plant(r.Header, "X-Unrelated_Thing", "kept")
	out := th.serve(t, r)
	has := func(key string) bool { _, ok := out.upstream.Header[key]; return ok }
	for _, k := range []string{"X_user", "X.User"} {
		if has(k) {
			t.Errorf("%s reached the upstream", k)
		}
	}
	if !has("X-Unrelated_Thing") {
		t.Error("an unrelated header was stripped")
	}
}

func TestWriteChallengeReturnsToTheSameSitePageItCameFrom(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	for referer, want := range map[string]string{
		"http://127.0.0.1/transfer/form?x=1": "return_to=/transfer/form?x=1&",
		"https://evil.example/transfer":      "return_to=/&",
		"":                                   "return_to=/&",
	} {
		out := th.serve(t, request("POST", "http://127.0.0.1/transfer", "Referer", referer))
		var body challengeBody
		_ = json.Unmarshal(out.rec.Body.Bytes(), &body)
		if got, _ := url.QueryUnescape(body.StepUpURL); !strings.Contains(got, want) {
			t.Errorf("Referer %q: step_up_url %s, want %s", referer, got, want)
		}
	}
}

func TestRecencyStepUpAsksForTheLevelTheSessionHas(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	s := th.session("urn:otp")
	th.clock.add(10 * time.Minute) // older than transfer's 5m
	s.Expires = th.clock.now().Add(time.Hour)
	out := th.serve(t, request("GET", "http://127.0.0.1/transfer", "Accept", "text/html", "Cookie", th.cookieFor(t, s)))
	loc, _ := url.Parse(out.rec.Header().Get("Location"))
	if q := loc.Query(); q.Get("acr_values") != "urn:otp" || q.Get("max_age") != "300" || q.Has("prompt") {
		t.Fatalf("recency step-up query: %v", q)
	}
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
