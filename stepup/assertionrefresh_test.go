package stepup

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// assertionClient repeats one request target under one session.
type assertionClient struct {
	th     *testHandler
	cookie string
}

func newAssertionClient(t *testing.T, lifetime, rotation time.Duration) *assertionClient {
	th := newTestHandler(t, deadIssuer(t), withAssertion(func(c *AssertionConfig) {
		c.Lifetime = caddy.Duration(lifetime)
		c.KeyRotation = caddy.Duration(rotation)
	}))
	return &assertionClient{th: th, cookie: th.cookieFor(t, th.session("urn:otp", "pwd", "otp"))}
}

// get sends GET /admin/a and returns the assertion the upstream received,
// checking that it verifies against the keys published now and has at
// least half its lifetime left.
func (c *assertionClient) get(t *testing.T) (string, assertionClaims) {
	t.Helper()
	out := c.th.serve(t, request("GET", "http://127.0.0.1/admin/a", "Cookie", c.cookie))
	if out.upstream == nil {
		t.Fatalf("refused: %d", out.rec.Code)
	}
	tok := out.upstream.Header.Get("Stepup-Assertion")
	claims, _ := c.th.verifyAssertion(t, tok)
	now := c.th.clock.Now()
	if left := time.Unix(claims.Expires, 0).Sub(now); left < c.th.asserter.lifetime/2 || claims.IssuedAt > now.Unix() {
		t.Fatalf("at %s the upstream got an assertion issued at %d with %s left, want at least half of %s",
			now.Format(time.TimeOnly), claims.IssuedAt, left, c.th.asserter.lifetime)
	}
	return tok, claims
}

// settle has the re-signing worker take what is queued now, without
// waiting for its tick, and waits until it is done: as the seconds between
// a client's requests would.
func (a *asserter) settle() {
	a.refresher.signal()
	a.inflight.Wait()
	a.fillNoncePool()
}

// backgroundWorkHere does on the caller's goroutine what the worker would
// do next: the re-signings queued and filling the nonce pool. The workload
// benchmark does it between two requests, so that the work is done before
// the next one (as in the seconds between a client's requests) without
// waking the worker on another thread for every request, which would time
// the benchmark's hand-over rather than the handler.
func (a *asserter) backgroundWorkHere() {
	a.tickWork()
	a.inflight.Wait() // a job the worker took first
}

// fillNoncePool fills the nonce pool to its target, as the worker's ticks
// do between two requests a moment apart.
func (a *asserter) fillNoncePool() {
	for {
		if made, err := a.nonces.topUp(a.now()); err != nil || made == 0 {
			return
		}
	}
}

// inlineSigns is how many requests waited for a signature.
func (c *assertionClient) inlineSigns() uint64 {
	return c.th.asserter.signed.Load() - c.th.asserter.refreshed.Load()
}

// Any gap shorter than half the lifetime less a second (exp is in whole
// seconds) finds the assertion reusable, and the last reuse before the
// window ends (it is within 1.5 gaps of the end) re-signs it.
func TestClientRepeatingATargetWithinHalfTheLifetimeWaitsForASignatureOnlyOnce(t *testing.T) {
	const lifetime = 20 * time.Second
	for _, gap := range []time.Duration{time.Second, 4 * time.Second, 5 * time.Second, 6 * time.Second, 8*time.Second + 900*time.Millisecond} {
		c := newAssertionClient(t, lifetime, time.Hour)
		for range 60 {
			c.get(t)
			c.th.clock.Add(gap)
		}
		if n := c.inlineSigns(); n != 1 {
			t.Errorf("a request every %s: %d requests signed inline, want only the first", gap, n)
		}
		// Not one per reuse: at a request a second, about one per 3/8 of
		// the lifetime (7.5s).
		if n := c.th.asserter.signed.Load(); gap == time.Second && n > 9 {
			t.Errorf("a request every second for a minute: %d signatures, want at most 9", n)
		}
		if c.th.asserter.refreshed.Load() == 0 {
			t.Errorf("a request every %s: nothing was re-signed in the background", gap)
		}
	}
	// Half the lifetime apart, nothing is left to reuse: every request signs.
	c := newAssertionClient(t, lifetime, time.Hour)
	for range 5 {
		c.get(t)
		c.th.clock.Add(lifetime / 2)
	}
	if n, bg := c.inlineSigns(), c.th.asserter.refreshed.Load(); n != 5 || bg != 0 {
		t.Fatalf("a request every half lifetime: %d inline and %d background signatures, want 5 and 0", n, bg)
	}
}

func TestSteadyClientGetsAssertionsOfTheCurrentKeyAcrossRotations(t *testing.T) {
	const lifetime, rotation = 20 * time.Second, 2 * time.Minute
	c := newAssertionClient(t, lifetime, rotation)
	keys := c.th.asserter.keys
	lead := keys.lead()
	signerAt := map[int64]string{} // unix second → the key that signs then
	rotated := 0
	var last string
	for range 6 * 60 / 5 {
		// Rotate synchronously when due, as a request's background refresh
		// of the key set would.
		set := loadNow(t, keys)
		signerAt[c.th.clock.Now().Unix()] = set.signer(c.th.clock.Now(), lead).id
		if set.signer(c.th.clock.Now(), lead).id != last {
			last = set.signer(c.th.clock.Now(), lead).id
			rotated++
		}
		// Twice at the same time: the first may start a re-signing, the
		// second gets its result.
		for range 2 {
			tok, claims := c.get(t)
			_, hdr := c.th.verifyAssertion(t, tok)
			if want, ok := signerAt[claims.IssuedAt]; !ok || hdr.KeyID != want {
				t.Fatalf("at %d: served an assertion issued at %d by key %s; the key signing then was %q",
					c.th.clock.Now().Unix(), claims.IssuedAt, hdr.KeyID, want)
			}
		}
		c.th.clock.Add(5 * time.Second)
	}
	if rotated < 3 {
		t.Fatalf("only %d signing keys in 6 minutes of 2-minute rotations", rotated)
	}
	if n := c.inlineSigns(); n != 1 {
		t.Fatalf("%d requests signed inline across key rotations, want only the first", n)
	}
}

// serveConcurrently sends n copies of the request at once and returns the
// assertions the upstream received.
func serveConcurrently(t *testing.T, th *testHandler, n int, cookie string) []string {
	t.Helper()
	got := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := request("GET", "http://127.0.0.1/admin/a", "Cookie", cookie)
			r = r.WithContext(contextWithVars(context.WithValue(r.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer()), map[string]any{}))
			_ = th.ServeHTTP(httptest.NewRecorder(), r, caddyhttp.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) error {
				got[i] = r.Header.Get("Stepup-Assertion")
				return nil
			}))
		})
	}
	wg.Wait()
	th.asserter.settle()
	return got
}

func TestConcurrentReusesOfADueAssertionReSignItOnce(t *testing.T) {
	c := newAssertionClient(t, 20*time.Second, time.Hour)
	// Slots for every request, so that only the single flight limits; set
	// before the first signature starts the worker.
	c.th.asserter.slots = make(chan struct{}, 32)
	first, _ := c.get(t)
	c.th.clock.Add(6 * time.Second) // the window ends within twice this
	before := c.th.asserter.signed.Load()
	seen := map[string]bool{}
	for i, tok := range serveConcurrently(t, c.th, 32, c.cookie) {
		if tok == "" {
			t.Fatalf("request %d went upstream without an assertion", i)
		}
		seen[tok] = true
	}
	// The cached one, and the re-signed one for requests that came after it.
	if len(seen) > 2 || (len(seen) == 2 && !seen[first]) {
		t.Fatalf("32 concurrent requests got %d different assertions", len(seen))
	}
	if n := c.th.asserter.signed.Load() - before; n != 1 {
		t.Fatalf("32 concurrent reuses of a due assertion made %d signatures, want 1", n)
	}
	if tok, _ := c.get(t); tok == first {
		t.Fatal("the re-signed assertion did not replace the due one")
	}

	// The same, one after the other on one entry: only the first reuse
	// starts a re-signing, whether or not it has finished.
	a := c.th.asserter
	k := assertionCacheKey{s: c.th.session("urn:otp"), rule: "admin", score: -1, method: "GET", host: "127.0.0.1", path: "/x"}
	now := c.th.clock.Now()
	e, err := a.signEntry(context.Background(), &k, now)
	if err != nil {
		t.Fatal(err)
	}
	a.cache.put(&k, e, now)
	before = a.signed.Load()
	for range 3 {
		a.refresh(&k, e)
	}
	a.inflight.Wait()
	a.refresh(&k, e)
	a.inflight.Wait()
	if n := a.signed.Load() - before; n != 1 {
		t.Fatalf("four reuses of one entry started %d re-signings, want 1", n)
	}
	if a.cache.get(&k, now) == e {
		t.Fatal("the re-signed entry did not replace the old one")
	}
}

func TestBusyRefreshersLeaveADueAssertionAsItIs(t *testing.T) {
	if cap(assertionRefreshSlots) != assertionRefreshers || assertionRefreshers > 4 {
		t.Fatalf("re-signing goroutines are bounded by %d slots, want a small fixed number", cap(assertionRefreshSlots))
	}
	c := newAssertionClient(t, 20*time.Second, time.Hour)
	other := newAssertionClient(t, 20*time.Second, time.Hour)
	if c.th.asserter.slots != other.th.asserter.slots {
		t.Fatal("handlers do not share the process-wide bound on re-signing goroutines")
	}
	// Every refresher busy: the test holds the only slot.
	c.th.asserter.slots = make(chan struct{}, 1)
	c.th.asserter.slots <- struct{}{}
	first, _ := c.get(t)
	c.th.clock.Add(6 * time.Second)
	before := c.th.asserter.signed.Load()
	if tok, _ := c.get(t); tok != first || c.th.asserter.signed.Load() != before {
		t.Fatal("with every refresher busy, a due assertion was not served as it was, or something signed")
	}
	<-c.th.asserter.slots // a refresher frees up: the next reuse re-signs
	c.th.clock.Add(2 * time.Second)
	if tok, _ := c.get(t); tok != first {
		t.Fatal("the due assertion was not served while it was re-signed")
	}
	if tok, claims := c.get(t); tok == first || claims.IssuedAt != c.th.clock.Now().Unix() {
		t.Fatal("a free refresher did not re-sign the due assertion")
	}
}

func TestRevokedSessionsAssertionIsNeverReSigned(t *testing.T) {
	c := newAssertionClient(t, 20*time.Second, time.Hour)
	s := c.th.session("urn:otp", "pwd", "otp")
	s.Issued = time.Now().Add(-time.Minute) // the admin route revokes up to the wall clock
	c.cookie = c.th.cookieFor(t, s)
	c.get(t)
	c.th.clock.Add(6 * time.Second)
	c.get(t) // re-signed in the background
	body := `{"issuer":"` + c.th.Provider.Issuer + `","sub":"alice"}`
	if err := serveAdminRevoke(httptest.NewRecorder(), httptest.NewRequest("POST", "/stepup/revoke", strings.NewReader(body))); err != nil {
		t.Fatal(err)
	}
	signed := c.th.asserter.signed.Load()
	for range 30 {
		c.th.clock.Add(6 * time.Second)
		if out := c.th.serve(t, request("GET", "http://127.0.0.1/admin/a", "Cookie", c.cookie)); out.upstream != nil {
			t.Fatal("the revoked session passed")
		}
	}
	if n := c.th.asserter.signed.Load() - signed; n != 0 {
		t.Fatalf("%d assertions signed for a revoked session", n)
	}
	// Nothing re-signs it without a passing request, so its entry is not
	// handed out past half its lifetime (get checks that) and the cache
	// bound evicts it like any other (TestReSigningAnEvictedAssertion…).
}

func TestReSigningAnEvictedAssertionDoesNotBringItBack(t *testing.T) {
	cache := newAssertionCache(1)
	now := time.Unix(1_800_000_000, 0)
	a, b := assertionCacheKey{path: "/a"}, assertionCacheKey{path: "/b"}
	old := newAssertionEntry("a1", now, now.Add(20*time.Second), 20*time.Second)
	cache.put(&a, old, now)
	cache.put(&b, newAssertionEntry("b1", now, now.Add(20*time.Second), 20*time.Second), now) // evicts /a
	if cache.replace(&a, old, newAssertionEntry("a2", now, now.Add(20*time.Second), 20*time.Second)) || cache.get(&a, now) != nil {
		t.Fatal("a re-signing finished after its entry was evicted brought it back")
	}
	if cache.get(&b, now) == nil {
		t.Fatal("the cache lost the entry within its bound")
	}
}

// refreshWorkers counts the goroutines of the process running an asserter's
// re-signing worker.
func refreshWorkers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "stepup.(*asserter).refreshLoop(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// The worker starts with the handler's first signature (which leaves the
// nonce pool empty, so there is work), not with the handler, and the
// re-signings after it use the same worker.
func TestAssertionWorkerStartsWithTheFirstSignatureAndExitsOnCleanup(t *testing.T) {
	before := refreshWorkers()
	c := newAssertionClient(t, 20*time.Second, time.Hour)
	if n := refreshWorkers(); n != before {
		t.Fatalf("%d assertion workers before anything was signed, want %d (started lazily)", n, before)
	}
	first, _ := c.get(t)
	// A goroutine just started may not show in a stack dump until it runs.
	waitFor(t, "the worker started by the first signature", func() bool { return refreshWorkers() == before+1 })
	c.th.clock.Add(6 * time.Second)
	c.get(t) // due: queued for the worker
	c.get(t)
	c.th.clock.Add(6 * time.Second)
	c.get(t) // due again: the same worker
	if tok, _ := c.get(t); tok == first {
		t.Fatal("nothing was re-signed")
	}
	if n := refreshWorkers(); n != before+1 {
		t.Fatalf("%d re-signing workers after two re-signings, want %d (one per handler)", n, before+1)
	}
	if err := c.th.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if n := refreshWorkers(); n != before {
		t.Fatalf("%d re-signing workers after Cleanup, want %d: the handler's worker did not exit", n, before)
	}
}

// A request hands the worker an entry without waking it while it ticks;
// only once it has parked, after ticks with nothing to do, does the next
// entry wake it.
func TestReSigningWorkerIsWokenOnlyWhenParked(t *testing.T) {
	c := newAssertionClient(t, 20*time.Second, time.Hour)
	a, f := c.th.asserter, c.th.asserter.refresher
	f.tick = time.Millisecond // before the worker starts
	now := c.th.clock.Now()
	entry := func(path string) (*assertionCacheKey, *assertionEntry) {
		k := &assertionCacheKey{s: c.th.session("urn:otp"), rule: "admin", score: -1, method: "GET", host: "127.0.0.1", path: path}
		e, err := a.signEntry(context.Background(), k, now)
		if err != nil {
			t.Fatal(err)
		}
		a.cache.put(k, e, now)
		return k, e
	}
	for i := range 5 {
		k, e := entry(fmt.Sprintf("/tick%d", i))
		a.refresh(k, e)
		a.inflight.Wait() // the worker's tick, not a wake-up, takes it
		if a.cache.get(k, now) == e {
			t.Fatalf("entry %d was not re-signed", i)
		}
	}
	if n := f.wakes.Load(); n != 0 {
		t.Fatalf("requests woke the ticking worker %d times, want 0", n)
	}
	k, e := entry("/parked")
	// It parks once idle for its ticks and its nonces have expired.
	c.th.clock.Add(nonceMaxAge + time.Second)
	waitFor(t, "the idle worker to park", f.parked.Load)
	refreshed := a.refreshed.Load()
	a.refresh(k, e)
	a.inflight.Wait()
	if a.refreshed.Load() != refreshed+1 || f.wakes.Load() != 1 {
		t.Fatalf("an entry queued for the parked worker: %d re-signed, %d wake-ups, want 1 and 1", a.refreshed.Load()-refreshed, f.wakes.Load())
	}
}
