package integration

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/caddyproc"
)

func TestFirstLoginThenStepUpThenPassThrough(t *testing.T) {
	e := newEnv(t)
	b := e.caddy.Client()

	e.grant("alice", acrPwd, "pwd")
	first := navigate(t, b, e.caddy.URL()+"/")
	if got := first.echoed(t); got.User != "alice" || got.ACR != acrPwd || got.Rule != "default" {
		t.Fatalf("first login reached upstream as %+v", got)
	}
	login, _ := e.idp.LastLoginRequest()
	for _, p := range []string{"state", "nonce", "code_challenge"} {
		if len(login.Query.Get(p)) < 43 {
			t.Errorf("authorization request %s = %q", p, login.Query.Get(p))
		}
	}
	if login.Query.Get("code_challenge_method") != "S256" || login.Query.Has("acr_values") {
		t.Errorf("first login request: %v", login.Query)
	}

	e.grant("alice", acrMFA, "pwd", "otp")
	admin := navigate(t, b, e.caddy.URL()+"/admin/users")
	if got := admin.echoed(t); got.User != "alice" || got.ACR != acrMFA || got.Path != "/admin/users" || got.Rule != "admin" {
		t.Fatalf("step-up reached upstream as %+v", got)
	}
	stepUp, _ := e.idp.LastLoginRequest()
	if stepUp.Query.Get("acr_values") != acrMFA || stepUp.Query.Get("login_hint") != "alice" {
		t.Errorf("step-up request: acr_values %q login_hint %q", stepUp.Query.Get("acr_values"), stepUp.Query.Get("login_hint"))
	}
	if got := admin.echoed(t).Cookie; strings.Contains(got, "stepup") {
		t.Errorf("our cookies reached the upstream: %q", got)
	}

	e.idp.ResetLoginRequests()
	again := navigate(t, b, e.caddy.URL()+"/admin")
	if again.wentToIdP(e.idp.Issuer()) || again.echoed(t).ACR != acrMFA {
		t.Fatalf("a sufficient session went back to the IdP: %v", again.hops)
	}
	if n := len(e.idp.LoginRequests()); n != 0 {
		t.Fatalf("%d logins for a sufficient session", n)
	}
}

func TestStepUpExpiresAfterMaxAgeAndAsksForAFreshLogin(t *testing.T) {
	e := newEnv(t)
	b := e.caddy.Client()
	e.grant("alice", acrPwd, "pwd")
	if got := navigate(t, b, e.caddy.URL()+"/settings").echoed(t); got.Rule != "settings" {
		t.Fatalf("settings: %+v", got)
	}
	e.idp.ResetLoginRequests()
	time.Sleep(3 * time.Second) // settings allows a login at most 2s old
	v := navigate(t, b, e.caddy.URL()+"/settings")
	if !v.wentToIdP(e.idp.Issuer()) {
		t.Fatal("an authentication older than max_age was accepted")
	}
	v.echoed(t)
	req, ok := e.idp.LastLoginRequest()
	if !ok || req.MaxAge != "2" || req.Prompt != "" || req.Query.Get("acr_values") != acrPwd {
		t.Fatalf("fresh login request: max_age %q prompt %q acr_values %q", req.MaxAge, req.Prompt, req.Query.Get("acr_values"))
	}
}

func TestACRDowngradeFromTheIdPIsRefused(t *testing.T) {
	e := newEnv(t)
	b := e.caddy.Client()
	e.grant("alice", acrPwd, "pwd") // the IdP ignores acr_values
	v := navigate(t, b, e.caddy.URL()+"/admin")
	if v.status != http.StatusForbidden || !strings.Contains(v.body, "not strong enough") {
		t.Fatalf("weak login for /admin: %d %s", v.status, truncate(v.body))
	}
	// Nothing was granted: the API view of /admin is still a challenge.
	resp, _ := api(t, b, "GET", e.caddy.URL()+"/admin")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after a refused step-up /admin answered %d", resp.StatusCode)
	}
	if !strings.Contains(e.caddy.Logs(), `"reason":"acr"`) {
		t.Fatal("the refusal's reason was not logged")
	}
}

func TestStepUpAsAnotherUserIsRefusedAndKeepsTheSession(t *testing.T) {
	e := newEnv(t)
	b := e.caddy.Client()
	e.grant("alice", acrPwd, "pwd")
	navigate(t, b, e.caddy.URL()+"/").echoed(t)
	e.grant("bob", acrMFA, "pwd", "otp")
	v := navigate(t, b, e.caddy.URL()+"/admin")
	if v.status != http.StatusForbidden || !strings.Contains(v.body, "different user") {
		t.Fatalf("step-up as bob: %d %s", v.status, truncate(v.body))
	}
	if got := navigate(t, b, e.caddy.URL()+"/").echoed(t); got.User != "alice" || got.ACR != acrPwd {
		t.Fatalf("the existing session changed: %+v", got)
	}
}

func TestAPIClientsGetRFC9470ChallengesAndBearerTokensAreJudged(t *testing.T) {
	e := newEnv(t)
	apiClient := e.idp.CreateClient(t, hydraAPIClient())
	noSession, body := api(t, e.caddy.Client(), "GET", e.caddy.URL()+"/api/orders")
	if noSession.StatusCode != http.StatusUnauthorized || !strings.Contains(noSession.Header.Get("WWW-Authenticate"), `acr_values="`+acrMFA+`"`) {
		t.Fatalf("no credentials: %d %q", noSession.StatusCode, noSession.Header.Get("WWW-Authenticate"))
	}
	var challenge struct {
		StepUpURL string `json:"step_up_url"`
	}
	if json.Unmarshal([]byte(body), &challenge) != nil || !strings.HasPrefix(challenge.StepUpURL, e.caddy.URL()+"/.stepup/login?") {
		t.Fatalf("challenge body %s", body)
	}

	e.grant("alice", acrPwd, "pwd")
	weak := e.accessToken(t, apiClient)
	resp, _ := api(t, e.caddy.Client(), "GET", e.caddy.URL()+"/api/orders", "Authorization", "Bearer "+weak)
	want := `Bearer error="insufficient_user_authentication", error_description="a stronger authentication is required (acr ` + acrMFA + `)", acr_values="` + acrMFA + `"`
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") != want {
		t.Fatalf("weak token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}

	e.grant("alice", acrMFA, "pwd", "otp")
	strong := e.accessToken(t, apiClient)
	resp, body = api(t, e.caddy.Client(), "GET", e.caddy.URL()+"/api/orders", "Authorization", "Bearer "+strong)
	var got echoed
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil || got.User != "alice" || got.ACR != acrMFA {
		t.Fatalf("strong token: %d %s", resp.StatusCode, body)
	}

	forged := tamperSignature(strong)
	resp, _ = api(t, e.caddy.Client(), "GET", e.caddy.URL()+"/api/orders", "Authorization", "Bearer "+forged)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("forged token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

func TestIdPDownKeepsCaddyUpAndProtectedRoutesClosed(t *testing.T) {
	e := newEnv(t)
	e.idp.Stop()
	v := navigate(t, e.caddy.Client(), e.caddy.URL()+"/admin")
	if v.status != http.StatusServiceUnavailable || v.header.Get("Retry-After") == "" {
		t.Fatalf("protected route with the IdP down: %d (Retry-After %q)", v.status, v.header.Get("Retry-After"))
	}
	e.idp.Restart()
	e.grant("alice", acrMFA, "pwd", "otp")
	deadline := time.Now().Add(20 * time.Second)
	for {
		v = navigate(t, e.caddy.Client(), e.caddy.URL()+"/admin")
		if v.status == http.StatusOK || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if v.echoed(t).ACR != acrMFA {
		t.Fatal("step-up did not recover after the IdP came back")
	}
}

func TestCaddyStartsWhileTheIdPIsDownAndServesUnprotectedRoutes(t *testing.T) {
	e := &env{idp: startStoppedIdP(t), upstream: startUpstream(t)}
	site := strings.Replace(siteConfig(e.idp.Issuer(), e.upstream.URL, ""), "require_login all", "require_login rules", 1)
	e.caddy = caddyproc.Start(t, caddyproc.Options{Site: site, Env: []string{"STEPUP_TEST_SECRET=" + edgeSecret}})
	if got := navigate(t, e.caddy.Client(), e.caddy.URL()+"/public").echoed(t); got.User != "" {
		t.Fatalf("public page: %+v", got)
	}
	if v := navigate(t, e.caddy.Client(), e.caddy.URL()+"/admin"); v.status != http.StatusServiceUnavailable {
		t.Fatalf("protected page with the IdP never reached: %d", v.status)
	}
}

func TestTwoCaddiesSharingStorageAcceptEachOthersSessions(t *testing.T) {
	e := newEnv(t)
	second := caddyproc.Start(t, caddyproc.Options{
		Site:       siteConfig(e.idp.Issuer(), e.upstream.URL, ""),
		StorageDir: e.caddy.StorageDir(),
		Env:        []string{"STEPUP_TEST_SECRET=" + edgeSecret},
	})
	b := e.caddy.Client()
	e.grant("alice", acrMFA, "pwd", "otp")
	navigate(t, b, e.caddy.URL()+"/admin").echoed(t)
	cookie := sessionCookie(t, b, e.caddy.URL())

	e.idp.ResetLoginRequests()
	other := second.Client()
	req, _ := http.NewRequest("GET", second.URL()+"/admin", nil)
	req.AddCookie(cookie)
	resp, err := other.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the second replica refused the first one's session: %d", resp.StatusCode)
	}
}

func TestConfigReloadKeepsSessionsValid(t *testing.T) {
	e := newEnv(t)
	b := e.caddy.Client()
	e.grant("alice", acrMFA, "pwd", "otp")
	navigate(t, b, e.caddy.URL()+"/admin").echoed(t)
	e.caddy.Reload(siteConfig(e.idp.Issuer(), e.upstream.URL, "strip_header X-Reloaded"))
	e.idp.ResetLoginRequests()
	if v := navigate(t, b, e.caddy.URL()+"/admin"); v.wentToIdP(e.idp.Issuer()) || v.echoed(t).ACR != acrMFA {
		t.Fatalf("session lost across a reload: %v", v.hops)
	}
}

func TestLogoutEndsTheSession(t *testing.T) {
	e := newEnv(t)
	b := e.caddy.Client()
	e.grant("alice", acrPwd, "pwd")
	navigate(t, b, e.caddy.URL()+"/").echoed(t)
	resp, _ := api(t, b, "POST", e.caddy.URL()+"/.stepup/logout")
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if resp, _ := api(t, b, "GET", e.caddy.URL()+"/"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("after logout: %d", resp.StatusCode)
	}
}

func TestClientSuppliedIdentityHeadersNeverReachTheUpstream(t *testing.T) {
	e := newEnv(t)
	b := e.caddy.Client()
	e.grant("alice", acrPwd, "pwd")
	navigate(t, b, e.caddy.URL()+"/").echoed(t)
	resp, body := api(t, b, "GET", e.caddy.URL()+"/", "X-User", "admin", "X-Acr", acrMFA)
	var got echoed
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &got) != nil {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	if got.User != "alice" || got.ACR != acrPwd {
		t.Fatalf("forged identity headers reached the upstream: %+v", got)
	}
}
