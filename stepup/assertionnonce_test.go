package stepup

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/fips140"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/bigmod"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// testSigningKey is a stored key loaded as the handler loads it, with its
// scalar for pooled signing.
func testSigningKey(t testing.TB) *signingKey {
	t.Helper()
	stored, err := freshSigningKey(nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	set, err := buildSigningKeySet([]storedSigningKey{stored})
	if err != nil {
		t.Fatal(err)
	}
	return set.keys[0]
}

// verifyCompact checks tok's ES256 signature with the standard library and
// returns its r and s.
func verifyCompact(t *testing.T, pub *ecdsa.PublicKey, tok string) (r, s []byte) {
	t.Helper()
	dot := strings.LastIndexByte(tok, '.')
	sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
	if err != nil || len(sig) != 64 {
		t.Fatalf("signature of %d bytes (%v), want 64", len(sig), err)
	}
	digest := sha256.Sum256([]byte(tok[:dot]))
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatalf("signature does not verify: %s", tok)
	}
	return sig[:32], sig[32:]
}

// Every signature made with a pooled nonce verifies with crypto/ecdsa, no
// two share an r (a repeated nonce would give the key away), and r and s
// keep their leading zero bytes (RFC 7518, 3.4).
func TestPooledNoncesMakeSignaturesThatVerify(t *testing.T) {
	key := testSigningKey(t)
	pool := newNoncePool()
	pool.target.Store(maxNonces)
	now := time.Now()
	seen := map[string]bool{}
	short := 0
	const signatures = 3000
	for i := range signatures {
		if len(pool.ready) == 0 {
			if _, err := pool.topUp(now); err != nil {
				t.Fatal(err)
			}
		}
		tok, pooled, err := signCompact(key, []byte(fmt.Sprintf(`{"n":%d}`, i)), pool, now)
		if err != nil || !pooled {
			t.Fatalf("signature %d: pooled %v, %v", i, pooled, err)
		}
		r, s := verifyCompact(t, &key.priv.PublicKey, tok)
		if seen[string(r)] {
			t.Fatalf("signature %d repeats an r", i)
		}
		seen[string(r)] = true
		if r[0] == 0 || s[0] == 0 {
			short++
		}
	}
	// A leading zero byte in r or s turns up about once in 128 signatures.
	if short == 0 {
		t.Fatalf("no signature with a short r or s among %d: the padding went untested", signatures)
	}
}

// Without a nonce ready the signature is made as before, and the pool
// remembers it ran dry: its next fill doubles its target.
func TestEmptyNoncePoolSignsWithoutItAndGrows(t *testing.T) {
	key := testSigningKey(t)
	pool := newNoncePool()
	now := time.Now()
	tok, pooled, err := signCompact(key, []byte(`{"n":1}`), pool, now)
	if err != nil || pooled {
		t.Fatalf("pooled %v, %v; want an unpooled signature", pooled, err)
	}
	verifyCompact(t, &key.priv.PublicKey, tok)
	if !pool.dry.Load() || !pool.low() {
		t.Fatal("an empty pool was not marked dry and low")
	}
	made, err := pool.topUp(now)
	if err != nil || made != 2*minNonces || pool.target.Load() != 2*minNonces {
		t.Fatalf("made %d (%v), target %d; want %d each", made, err, pool.target.Load(), 2*minNonces)
	}
	if made, _ := pool.topUp(now); made != 0 || pool.low() {
		t.Fatalf("a full pool made %d more (low %v)", made, pool.low())
	}
	for range 3 * maxNonces {
		pool.dry.Store(true)
		pool.topUp(now)
	}
	if n := pool.target.Load(); n != maxNonces || len(pool.ready) != maxNonces {
		t.Fatalf("target %d, %d ready; want both %d", n, len(pool.ready), maxNonces)
	}
}

// A nonce is handed out within nonceMaxAge of being made by the wall clock,
// and not before it was made (a clock set back): older or newer ones are
// dropped, and dropping them does not count as demand.
func TestStaleNoncesAreDroppedNotUsed(t *testing.T) {
	key := testSigningKey(t)
	made := time.Now()
	for _, at := range []time.Time{made.Add(nonceMaxAge + time.Second), made.Add(-time.Second)} {
		pool := newNoncePool()
		if n, err := pool.topUp(made); err != nil || n != minNonces {
			t.Fatalf("made %d (%v)", n, err)
		}
		if _, pooled, err := signCompact(key, []byte(`{}`), pool, at); err != nil || pooled {
			t.Fatalf("at %s after making: pooled %v (%v), want a signature without the pool", at.Sub(made), pooled, err)
		}
		if len(pool.ready) != 0 || pool.dry.Load() {
			t.Fatalf("%d stale nonces kept, dry %v; want none kept and not dry", len(pool.ready), pool.dry.Load())
		}
	}
	pool := newNoncePool()
	pool.topUp(made)
	if _, pooled, _ := signCompact(key, []byte(`{}`), pool, made.Add(nonceMaxAge)); !pooled {
		t.Fatal("a nonce exactly nonceMaxAge old was not used")
	}
}

// Signers racing for nonces while a filler adds more never get the same
// one twice, and every nonce made is handed out at most once.
func TestANonceIsHandedOutOnce(t *testing.T) {
	pool := newNoncePool()
	pool.target.Store(maxNonces)
	now := time.Now()
	const takers, each = 4, 300
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range takers {
		wg.Go(func() {
			for got := 0; got < each; {
				n, ok := pool.take(now)
				if !ok {
					pool.topUp(now) // one filler at a time: the others wait or find it full
					continue
				}
				got++
				mu.Lock()
				seen[string(n.r[:])]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != takers*each {
		t.Fatalf("%d distinct nonces among %d taken", len(seen), takers*each)
	}
	if taken, made := uint64(takers*each+len(pool.ready)), pool.made.Load(); taken != made {
		t.Fatalf("%d nonces taken or left, %d made", taken, made)
	}
}

// The batched inversion gives each value its inverse modulo n, for any
// batch size.
func TestInvertAllInvertsEachValue(t *testing.T) {
	one := bigmod.NewNat().ExpandFor(p256Order).SetUint(1)
	for _, size := range []int{1, 2, 3, nonceBatch, nonceBatch + 1} {
		xs := make([]*bigmod.Nat, size)
		for i := range xs {
			x, _, err := randomNonce()
			if err != nil {
				t.Fatal(err)
			}
			xs[i] = x
		}
		// A small value too, where a bug in the carries would show.
		xs[0] = bigmod.NewNat().ExpandFor(p256Order).SetUint(2)
		kept := make([][]byte, size)
		for i, x := range xs {
			kept[i] = x.Bytes(p256Order)
		}
		for i, inv := range invertAll(xs) {
			if !bytes.Equal(xs[i].Bytes(p256Order), kept[i]) {
				t.Fatalf("size %d: input %d changed", size, i)
			}
			if copyNat(inv).Mul(xs[i], p256Order).Equal(one) != 1 {
				t.Fatalf("size %d: value %d times its inverse is not 1", size, i)
			}
		}
	}
}

// r is x(kG) mod n for the k drawn: the pool's r matches the point the
// standard library computes for the same scalar (as an ECDH public key).
func TestRandomNonceRIsTheXOfKG(t *testing.T) {
	for range 20 {
		k, r, err := randomNonce()
		if err != nil {
			t.Fatal(err)
		}
		priv, err := ecdh.P256().NewPrivateKey(k.Bytes(p256Order))
		if err != nil {
			t.Fatal(err)
		}
		point := priv.PublicKey().Bytes() // 0x04 || X || Y
		want := new(big.Int).Mod(new(big.Int).SetBytes(point[1:33]), elliptic.P256().Params().N)
		if got := new(big.Int).SetBytes(r.Bytes(p256Order)); got.Cmp(want) != 0 {
			t.Fatalf("r = %x, want %x", got, want)
		}
	}
}

// signUnsettled signs an assertion for path as a miss does, but not
// through the test handler's serve, whose settle fills the pool itself:
// whatever fills it afterwards is the worker's own doing.
func signUnsettled(t *testing.T, c *assertionClient, path string) {
	t.Helper()
	k := &assertionCacheKey{s: c.th.session("urn:otp"), rule: "admin", score: -1, method: "GET", host: "127.0.0.1", path: path}
	if _, err := c.th.asserter.signEntry(context.Background(), k, c.th.clock.Now()); err != nil {
		t.Fatal(err)
	}
}

// The handler signs its first assertion without the pool (nothing is
// ready yet), which starts the worker; the worker fills the pool on its
// own, and the misses after that use it.
func TestHandlerSignsWithPooledNoncesOnceTheWorkerFilledThem(t *testing.T) {
	pooled0, whole0 := testutil.ToFloat64(assertionSignedPooled), testutil.ToFloat64(assertionSignedWhole)
	// A short lifetime, so that the misses below come within nonceMaxAge.
	c := newAssertionClient(t, 2*time.Second, time.Hour)
	a := c.th.asserter
	signUnsettled(t, c, "/first")
	if a.signed.Load() != 1 || a.pooled.Load() != 0 {
		t.Fatalf("first signature: %d signed, %d pooled; want 1 and 0", a.signed.Load(), a.pooled.Load())
	}
	waitFor(t, "the worker to fill the pool", func() bool { return !a.nonces.low() })
	for i := range 5 {
		c.th.clock.Add(1100 * time.Millisecond) // past the reuse window: a miss
		c.get(t)
		if got := a.pooled.Load(); got != uint64(i+1) {
			t.Fatalf("miss %d: %d pooled signatures, want %d", i, got, i+1)
		}
	}
	pooled, whole := testutil.ToFloat64(assertionSignedPooled)-pooled0, testutil.ToFloat64(assertionSignedWhole)-whole0
	if pooled != 5 || whole != 1 {
		t.Fatalf("caddy_stepup_assertions_signed_total: pooled %v, whole %v; want 5 and 1", pooled, whole)
	}
}

// With the pool turned off every signature is made whole, and signing
// leaves the worker alone (there is nothing for it to fill).
func TestDisabledNoncePoolSignsEveryAssertionWhole(t *testing.T) {
	before := refreshWorkers()
	th := newTestHandler(t, deadIssuer(t), withAssertion(func(c *AssertionConfig) { c.DisableNoncePool = true }))
	c := &assertionClient{th: th, cookie: th.cookieFor(t, th.session("urn:otp", "pwd", "otp"))}
	for range 3 {
		c.get(t)
		th.clock.Add(31 * time.Second) // past the lifetime: each a miss
	}
	if a := th.asserter; a.nonces != nil || a.signed.Load() != 3 || a.pooled.Load() != 0 {
		t.Fatalf("pool %v, %d signed, %d pooled; want no pool, 3 and 0", a.nonces != nil, a.signed.Load(), a.pooled.Load())
	}
	if n := refreshWorkers(); n != before {
		t.Fatalf("%d assertion workers, want %d: signing without the pool started one", n, before)
	}
	// Re-signing still runs the worker, whose ticks find no pool to fill.
	th.asserter.refresher.tick = time.Millisecond // before it starts
	first, _ := c.get(t)
	th.clock.Add(12 * time.Second) // due within twice this gap
	c.get(t)                       // queues the re-signing; the worker starts
	if tok, _ := c.get(t); tok == first || th.asserter.pooled.Load() != 0 {
		t.Fatalf("re-signed %v, %d pooled; want a whole re-signature", tok != first, th.asserter.pooled.Load())
	}
}

// The worker keeps ticking while it holds nonces, empties the pool once its
// newest nonce is nonceMaxAge old, and only then parks: an idle process
// holds no nonce. The next signature is whole and wakes it to fill the pool
// again.
func TestIdleWorkerDropsItsNoncesBeforeParking(t *testing.T) {
	c := newAssertionClient(t, 20*time.Second, time.Hour)
	a, f := c.th.asserter, c.th.asserter.refresher
	f.tick = time.Millisecond // before the worker starts
	c.get(t)
	waitFor(t, "the worker to fill the pool", func() bool { return !a.nonces.low() })
	time.Sleep(50 * assertionRefreshIdleTicks * time.Millisecond) // idle ticks, well past the count
	if f.parked.Load() || !a.nonces.holds() {
		t.Fatalf("parked %v with %d nonces before they expired; want ticking and holding them", f.parked.Load(), len(a.nonces.ready))
	}
	c.th.clock.Add(nonceMaxAge + time.Second)
	waitFor(t, "the idle worker to expire its nonces and park", f.parked.Load)
	if n := len(a.nonces.ready); n != 0 {
		t.Fatalf("the parked worker left %d nonces in the pool, want none", n)
	}
	pooled := a.pooled.Load()
	signUnsettled(t, c, "/after-parking")
	if a.pooled.Load() != pooled || f.wakes.Load() != 1 {
		t.Fatalf("after parking: %d pooled signatures (want %d), %d wake-ups (want 1)", a.pooled.Load(), pooled, f.wakes.Load())
	}
	waitFor(t, "the woken worker to fill the pool", func() bool { return !a.nonces.low() })
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// In FIPS 140 mode the pool is off: every signature comes from the
// validated crypto/ecdsa. GODEBUG=fips140 is read at start-up, so the test
// runs itself again with it set.
func TestFIPSModeSignsWithoutThePool(t *testing.T) {
	if os.Getenv("STEPUP_TEST_FIPS_CHILD") == "1" {
		if !fips140.Enabled() {
			t.Fatal("GODEBUG=fips140=on did not turn FIPS 140 mode on")
		}
		th := newTestHandler(t, deadIssuer(t), withAssertion(nil))
		c := &assertionClient{th: th, cookie: th.cookieFor(t, th.session("urn:otp", "pwd", "otp"))}
		c.get(t)
		if a := th.asserter; a.nonces != nil || a.signed.Load() != 1 || a.pooled.Load() != 0 {
			t.Fatalf("pool %v, %d signed, %d pooled; want no pool and one whole signature", a.nonces != nil, a.signed.Load(), a.pooled.Load())
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFIPSModeSignsWithoutThePool$", "-test.count=1")
	cmd.Env = append(os.Environ(), "GODEBUG=fips140=on", "STEPUP_TEST_FIPS_CHILD=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("in FIPS 140 mode: %v\n%s", err, out)
	}
}
