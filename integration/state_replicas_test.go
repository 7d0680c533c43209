package integration

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/caddyproc"
	"github.com/caddy-stepup/caddy-stepup/integration/internal/hydra"
	"github.com/caddy-stepup/caddy-stepup/internal/redistest"
)

// freqLimit is the risk block's frequency limit per session in the
// cluster's site.
const freqLimit = 30

// cluster is three Caddy replicas sharing Caddy storage and one
// redis-server, behind no balancer: the tests pick the replica per request.
// Replica A also serves a plain-HTTP loopback site for Hydra's back-channel
// logout (Hydra does not trust Caddy's local CA).
type cluster struct {
	redis  *redistest.Server
	idp    *hydra.Server
	up     *httptest.Server
	nodes  []*caddyproc.Caddy
	client hydra.Client
}

func stateSettings(redisAddr string) string {
	return fmt.Sprintf(`state redis %s {
			timeout 500ms
		}
		backchannel_logout_path /.stepup/backchannel-logout`, redisAddr)
}

func startCluster(t *testing.T) *cluster {
	t.Helper()
	return startClusterWith(t, "")
}

// startClusterWith is startCluster with extra stepup settings.
func startClusterWith(t *testing.T, extra string) *cluster {
	t.Helper()
	c := &cluster{redis: redistest.Start(t), idp: hydra.Start(t, hydra.Options{}), up: startUpstream(t)}
	site := siteConfig(c.idp.Issuer(), c.up.URL, stateSettings(c.redis.Addr)+fmt.Sprintf(`
		rule fresh {
			match /fresh*
			max_age 0
		}
		risk {
			step_up 50
			acr %s
			frequency {
				window 1m
				limit %d
				ip_limit 60000
				weight 60
			}
		}
		%s`, acrMFA, freqLimit, extra))
	bcPort := caddyproc.ReservePort(t)
	backchannel := fmt.Sprintf(`http://127.0.0.1:%d {
	stepup {
		issuer %s
		client_id %s
		client_secret {env.STEPUP_TEST_SECRET}
		insecure_loopback_http
		%s
	}
	respond "not here" 404
}`, bcPort, c.idp.Issuer(), edgeClientID, stateSettings(c.redis.Addr))
	env := []string{"STEPUP_TEST_SECRET=" + edgeSecret}
	a := caddyproc.Start(t, caddyproc.Options{Site: site, Env: env, Extra: backchannel})
	c.nodes = []*caddyproc.Caddy{a}
	for range 2 {
		c.nodes = append(c.nodes, caddyproc.Start(t, caddyproc.Options{Site: site, Env: env, StorageDir: a.StorageDir()}))
	}
	var uris []string
	for _, n := range c.nodes {
		uris = append(uris, n.URL()+"/.stepup/callback")
	}
	c.client = c.idp.CreateClient(t, hydra.Client{ID: edgeClientID, Secret: edgeSecret, RedirectURIs: uris,
		Scopes: []string{"openid", "profile"}, BackchannelLogoutURI: fmt.Sprintf("http://127.0.0.1:%d/.stepup/backchannel-logout", bcPort)})
	return c
}

// signIn logs alice in with acr through replica A (her first request, /,
// counts one toward the frequency limit on A) and returns her session
// cookie.
func (c *cluster) signIn(t *testing.T, acr string, amr ...string) *http.Cookie {
	t.Helper()
	c.idp.OnLogin(func(hydra.LoginRequest) hydra.LoginDecision {
		return hydra.LoginDecision{Subject: "alice", ACR: acr, AMR: amr, Remember: true}
	})
	b := c.nodes[0].Client()
	if got := navigate(t, b, c.nodes[0].URL()+"/").echoed(t); got.User != "alice" {
		t.Fatalf("login through A: %+v", got)
	}
	return sessionCookie(t, b, c.nodes[0].URL())
}

// get sends an API request with cookie to replica i and returns the status.
func (c *cluster) get(t *testing.T, i int, path string, cookie *http.Cookie) (int, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.nodes[i].URL()+path, nil)
	req.Header.Set("Accept", "application/json")
	req.AddCookie(cookie)
	resp, err := c.nodes[i].Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s on replica %d: %v", path, i, err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// pollUntil calls cond every 20 ms until it holds; the 15 s bound only
// ends a broken test.
func pollUntil(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for time.Since(start) < 15*time.Second {
		if cond() {
			return time.Since(start)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("never: %s", what)
	return 0
}

var replicaNames = []string{"A", "B", "C"}

// A burst of one session spread round-robin over three replicas steps up
// at the global limit: before the frequency counts were merged through the
// store, each replica saw a third of it and none stepped up until it alone
// had passed the limit.
func TestABurstSpreadOverThreeReplicasStepsUpAtTheGlobalLimit(t *testing.T) {
	c := startCluster(t)
	cookie := c.signIn(t, acrPwd, "pwd")
	sent := []int{1, 0, 0} // the login's own request on A
	total := 1
	send := func() int {
		i := total % 3
		total++
		sent[i]++
		code, _ := c.get(t, i, "/page", cookie)
		return code
	}
	for total < freqLimit {
		// Never above the limit: a replica's estimate is its own count
		// plus the others' as last read, never more than the true total.
		if code := send(); code != http.StatusOK {
			t.Fatalf("request %d (on %s) answered %d at or below the global limit of %d", total, replicaNames[(total-1)%3], code, freqLimit)
		}
	}
	pollUntil(t, "a step-up past the global limit", func() bool {
		i := total % 3
		code := send()
		if code != http.StatusOK && code != http.StatusUnauthorized {
			t.Fatalf("request %d answered %d", total, code)
		}
		if sent[i] > freqLimit {
			t.Fatalf("%s answered %d only once it alone had %d requests of the session (sent %v): counts are not shared", replicaNames[i], code, sent[i], sent)
		}
		return code == http.StatusUnauthorized
	})
	t.Logf("stepped up at request %d of the session (limit %d; per replica %v)", total, freqLimit, sent)
}

// The max_age 0 pass a login on replica A mints is used there; the same
// cookie sent to replica B is refused (the single-use ledger is the store).
func TestAFreshPassUsedOnOneReplicaIsRefusedOnAnother(t *testing.T) {
	c := startCluster(t)
	c.idp.OnLogin(func(hydra.LoginRequest) hydra.LoginDecision {
		return hydra.LoginDecision{Subject: "alice", ACR: acrPwd, AMR: []string{"pwd"}}
	})
	b := c.nodes[0].Client()
	rec := &callbackCookies{next: b.Transport}
	b.Transport = rec
	if got := navigate(t, b, c.nodes[0].URL()+"/fresh").echoed(t); got.Rule != "fresh" {
		t.Fatalf("the fresh login's own request on A: %+v", got)
	}
	if len(rec.set) != 1 {
		t.Fatalf("%d session cookies set by the callback, want 1", len(rec.set))
	}
	for _, i := range []int{1, 2} {
		if code, _ := c.get(t, i, "/fresh", rec.set[0]); code != http.StatusUnauthorized {
			t.Errorf("the pass used on A, sent to %s: %d, want a 401 challenge", replicaNames[i], code)
		}
	}
}

// Hydra ends alice's login session and sends a back-channel logout token
// to replica A; her session ends on B and C too.
func TestHydraBackChannelLogoutOnOneReplicaEndsTheSessionOnAll(t *testing.T) {
	c := startCluster(t)
	cookie := c.signIn(t, acrPwd, "pwd")
	for i := range c.nodes {
		if code, _ := c.get(t, i, "/page", cookie); code != http.StatusOK {
			t.Fatalf("before the logout, %s answered %d", replicaNames[i], code)
		}
	}
	sids := c.idp.LoginSessionIDs("alice")
	if len(sids) != 1 {
		t.Fatalf("alice has %d login sessions at Hydra, want 1", len(sids))
	}
	c.idp.RevokeLoginSession(t, sids[0])
	for _, i := range []int{1, 2} {
		took := pollUntil(t, "the session ends on "+replicaNames[i], func() bool {
			code, _ := c.get(t, i, "/page", cookie)
			return code == http.StatusUnauthorized
		})
		t.Logf("%s refused the session %s after Hydra's admin call returned", replicaNames[i], took.Round(time.Millisecond))
	}
	// A new login after the logout is not affected.
	fresh := c.signIn(t, acrPwd, "pwd")
	if code, _ := c.get(t, 2, "/page", fresh); code != http.StatusOK {
		t.Errorf("a session minted after the logout, on C: %d", code)
	}
}

// The store killed mid-test: requests that need the session (a rule, or
// require_login all) get 503 with Retry-After once a replica's revocation
// copy is stale (on_outage closed), as documented; when the store returns,
// every replica serves them again.
func TestReplicasKeepServingWhileTheStoreIsDownAndRecover(t *testing.T) {
	c := startCluster(t)
	cookie := c.signIn(t, acrMFA, "pwd", "otp")
	for i := range c.nodes {
		if code, _ := c.get(t, i, "/admin", cookie); code != http.StatusOK {
			t.Fatalf("before the outage, /admin on %s: %d", replicaNames[i], code)
		}
	}
	c.redis.Stop()
	for i := range c.nodes {
		pollUntil(t, "/admin on "+replicaNames[i]+" closes with 503", func() bool {
			code, h := c.get(t, i, "/admin", cookie)
			return code == http.StatusServiceUnavailable && h.Get("Retry-After") != ""
		})
	}
	for i := range c.nodes {
		// Under require_login all every request needs the session, so it
		// is refused the same way.
		if code, _ := c.get(t, i, "/page", cookie); code != http.StatusServiceUnavailable {
			t.Errorf("store down: /page (require_login all) on %s: %d, want 503", replicaNames[i], code)
		}
	}
	c.redis.Restart()
	for i := range c.nodes {
		pollUntil(t, "/admin on "+replicaNames[i]+" serves again", func() bool {
			code, _ := c.get(t, i, "/admin", cookie)
			return code == http.StatusOK
		})
	}
}

// Step-ups of one subject started and never completed, spread over the
// three replicas, are bounded cluster-wide: the fourth gets 429 with
// Retry-After wherever it lands (max_attempts 3), because every replica
// counts in the store.
func TestAbandonedStepUpsAreRegulatedAcrossReplicas(t *testing.T) {
	c := startClusterWith(t, `regulation {
			max_attempts 3
		}`)
	cookie := c.signIn(t, acrPwd, "pwd")
	start := func(i int) *http.Response {
		b := c.nodes[i].Client()
		b.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		u, _ := url.Parse(c.nodes[i].URL() + "/admin")
		req := navigation(u)
		req.AddCookie(cookie)
		resp, err := b.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	// alice's sign-in itself was completed, so it does not count.
	for i := range 3 {
		if resp := start(i); resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), c.idp.Issuer()) {
			t.Fatalf("step-up %d, on %s: %d to %q, want a redirect to the IdP", i+1, replicaNames[i], resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	for i := range 3 {
		resp := start(i)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Errorf("a 4th open step-up, on %s: %d (Retry-After %q), want 429 with Retry-After", replicaNames[i], resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
}
