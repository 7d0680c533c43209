package stepup

import (
	"crypto/elliptic"
	"crypto/rand"
	"sync"
	"sync/atomic"
	"time"

	"filippo.io/bigmod"
	"filippo.io/nistec"
)

// Signing ahead of the request. An ECDSA signature (SEC 1 v2.0, section
// 4.1.3) is r = x(kG) mod n and s = k⁻¹(e + r·d) mod n, for a secret k
// used once. Only s depends on the message (e) and the key (d); kG and
// k⁻¹, nearly all the work, depend on k alone. The asserter's background
// worker makes them ahead of time into a pool, so a request that has to
// sign pays two multiplications modulo n instead of a scalar multiplication
// and an inversion. Verifiers see the same ES256. When the pool is empty the
// request signs as before (assertionsign.go).
//
// A nonce is secret and single-use: k is uniform in [1, n) from crypto/rand
// (rejection sampling), a pooled nonce is handed out by one channel receive
// and dropped after that one signature, and the pool lives in process memory
// only, never in storage, so no two replicas or signatures share one. All
// arithmetic on k, k⁻¹ and d is constant-time: filippo.io/nistec and
// filippo.io/bigmod are the standard library's crypto/internal P-256 and
// modular arithmetic, published as modules by their author.
//
// What the pool gives up: a copy of the running process (a VM or container
// snapshot restored while the original runs, or restored twice) holds the
// same nonces, and two copies signing different assertions with one of
// them would reveal the key. A signature without the pool (RFC 6979) has
// no such state. Two things narrow the window, neither closes it: the
// worker empties the pool once its newest nonce is nonceMaxAge old and only
// then parks, so a process snapshotted after ten quiet seconds holds no
// nonce; and a signer drops nonces older than that by the wall clock, which
// helps only where the copy's clock is set right before it serves.
// Deployments that clone running instances turn the pool off
// (AssertionConfig.DisableNoncePool); so does FIPS 140 mode, where
// signatures must come from the standard library's validated module.
// Secret intermediates (k, k⁻¹, the products of the batch) are wiped once
// used; a nonce's k⁻¹ is as sensitive as the key itself.

// p256Order is n, the order of the P-256 base point.
var p256Order, p256OrderMinus2 = func() (*bigmod.Modulus, []byte) {
	n := elliptic.P256().Params().N
	m, err := bigmod.NewModulus(n.FillBytes(make([]byte, 32)))
	if err != nil {
		panic(err)
	}
	// Fermat: k⁻¹ = k^(n-2) mod n, n prime. A public exponent, so Exp's
	// constant time in the base is all the inversion needs.
	minus2 := n.Bytes()
	minus2[len(minus2)-1] -= 2 // n ends in 0x51: no borrow
	return m, minus2
}()

// esNonce is the message-independent half of one ES256 signature, as
// big-endian bytes: a pool of them holds no pointers for the garbage
// collector to scan.
type esNonce struct {
	kInv [32]byte // k⁻¹ mod n: secret
	r    [32]byte // x(kG) mod n: the signature's r
	made int64    // wall clock, Unix nanoseconds: not monotonic, see nonceMaxAge
}

// nonceMaxAge is how long a nonce may wait in the pool. The wall clock, not
// the monotonic one, since it is the clock a restored snapshot gets set
// right. A pool that waits this long shrinks (noncePool.topUp), so a quiet
// handler wastes few nonces.
const nonceMaxAge = 10 * time.Second

// Pool sizes. The worker keeps minNonces ready at first and doubles that
// (up to maxNonces, 72 bytes each) each time signers found the pool empty
// since it last filled it, and halves it when nonces grew too old unused.
// It fills the pool once it is half empty, so a fill makes at least
// target/2 nonces with one inversion between them: a nonce takes from about
// two thirds of a whole signature's CPU (4 per inversion) to half of it (32
// and more, BenchmarkAssertionSignature/nonce).
const (
	minNonces     = 8
	maxNonces     = 1024
	nonceBatch    = 32 // nonces per inversion
	noncesPerFill = 4 * nonceBatch
)

// noncePool holds nonces made ahead of time for an asserter.
type noncePool struct {
	ready  chan esNonce
	target atomic.Int64  // how many the worker keeps ready
	dry    atomic.Bool   // a signer found the pool empty since the last fill
	stale  atomic.Bool   // nonces were dropped too old to use since then
	filled atomic.Int64  // when the last fill made nonces, wall clock Unix ns
	wanted atomic.Bool   // a signer took from the pool since it was filled or expired
	fill   sync.Mutex    // one filler at a time
	made   atomic.Uint64 // nonces made, ever
}

func newNoncePool() *noncePool {
	p := &noncePool{ready: make(chan esNonce, maxNonces)}
	p.target.Store(minNonces)
	return p
}

// take hands out a nonce made within nonceMaxAge of now (and not after it),
// dropping older ones, or reports that there is none. A pool found empty
// with nothing dropped is marked dry: demand outran the worker.
func (p *noncePool) take(now time.Time) (esNonce, bool) {
	if p == nil {
		return esNonce{}, false
	}
	if !p.wanted.Load() {
		p.wanted.Store(true)
	}
	at := now.UnixNano()
	dropped := false
	for {
		select {
		case n := <-p.ready:
			if age := at - n.made; age >= 0 && age <= int64(nonceMaxAge) {
				return n, true
			}
			if !dropped {
				dropped = true
				p.stale.Store(true)
			}
		default:
			if !dropped {
				p.dry.Store(true)
			}
			return esNonce{}, false
		}
	}
}

// expire empties the pool once its newest nonce, made by the last fill,
// is older than nonceMaxAge at now: every nonce in it is then too old. The
// worker calls it every tick, so an idle pool does not outlive that age.
func (p *noncePool) expire(now time.Time) {
	if p == nil || len(p.ready) == 0 || now.UnixNano()-p.filled.Load() <= int64(nonceMaxAge) {
		return
	}
	p.wanted.Store(false) // nobody took one for that long: no refill until someone does
	for {
		select {
		case <-p.ready:
			p.stale.Store(true)
		default:
			return
		}
	}
}

// needsFill reports whether the worker should fill the pool: a signer took
// from it since it was last filled or expired, and it is low or ran dry.
func (p *noncePool) needsFill() bool {
	return p != nil && p.wanted.Load() && (p.low() || p.dry.Load())
}

// holds reports whether the pool has nonces (the worker does not park
// while it does: it must expire them).
func (p *noncePool) holds() bool {
	return p != nil && len(p.ready) > 0
}

// low reports whether the pool is under half its target: time for the
// worker to fill it. A nil pool (turned off) never is.
func (p *noncePool) low() bool {
	return p != nil && len(p.ready) < int(p.target.Load())/2
}

// topUp makes nonces until the pool holds its target, at most
// noncesPerFill at a time so that one call never holds a core for long, and
// returns how many it made. A pool that ran dry since the last call first
// doubles its target; one whose nonces grew too old halves it (not below
// minNonces), so a quiet handler makes few nonces nobody uses.
func (p *noncePool) topUp(now time.Time) (int, error) {
	if p == nil {
		return 0, nil
	}
	p.fill.Lock()
	defer p.fill.Unlock()
	stale := p.stale.Swap(false)
	switch {
	case p.dry.Swap(false):
		p.target.Store(min(2*p.target.Load(), maxNonces))
	case stale:
		p.target.Store(max(p.target.Load()/2, minNonces))
	}
	want := min(int(p.target.Load())-len(p.ready), noncesPerFill)
	made := 0
	defer func() {
		if made > 0 {
			p.made.Add(uint64(made))
			p.filled.Store(now.UnixNano())
		}
		if len(p.ready) >= int(p.target.Load()) {
			p.wanted.Store(false)
		}
	}()
	for made < want {
		batch, err := makeNonces(min(nonceBatch, want-made), now)
		if err != nil {
			return made, err
		}
		full := false
		for _, n := range batch {
			select {
			case p.ready <- n:
				made++
			default: // full: only fillers add, so this only guards the bound
				full = true
			}
		}
		clear(batch) // the channel holds the only copies now
		if full {
			return made, nil
		}
	}
	return made, nil
}

// makeNonces makes count nonces with one inversion between them
// (Montgomery's trick: invert the product, then peel each k off it).
func makeNonces(count int, now time.Time) ([]esNonce, error) {
	ks := make([]*bigmod.Nat, count)
	out := make([]esNonce, count)
	for i := range ks {
		k, r, err := randomNonce()
		if err != nil {
			return nil, err
		}
		ks[i] = k
		copy(out[i].r[:], r.Bytes(p256Order))
		out[i].made = now.UnixNano()
	}
	for i, inv := range invertAll(ks) {
		copy(out[i].kInv[:], inv.Bytes(p256Order))
		wipe(inv, ks[i])
	}
	return out, nil
}

// wipe zeroes secret values once they are used.
func wipe(xs ...*bigmod.Nat) {
	for _, x := range xs {
		clear(x.Bits())
	}
}

// randomNonce draws k uniformly from [1, n) and returns it with r = x(kG)
// mod n, drawing again in the (negligible) cases where r would be zero.
func randomNonce() (k, r *bigmod.Nat, err error) {
	var buf [32]byte
	defer clear(buf[:]) // k's bytes
	for {
		if _, err := rand.Read(buf[:]); err != nil {
			return nil, nil, err
		}
		k, err = bigmod.NewNat().SetBytes(buf[:], p256Order)
		if err != nil || k.IsZero() == 1 {
			continue // k ≥ n (probability about 2⁻³²) or zero
		}
		point, err := nistec.NewP256Point().ScalarBaseMult(buf[:])
		if err != nil {
			return nil, nil, err
		}
		x, err := point.BytesX()
		if err != nil {
			return nil, nil, err // kG at infinity: impossible for k in [1, n)
		}
		// x < p < 2²⁵⁶, so reducing it once is enough.
		if r, err = bigmod.NewNat().SetOverflowingBytes(x, p256Order); err != nil {
			return nil, nil, err
		}
		if r.IsZero() == 0 {
			return k, r, nil
		}
	}
}

// invertAll returns the inverses modulo n of xs, none of them zero, at the
// cost of one inversion and three multiplications each.
func invertAll(xs []*bigmod.Nat) []*bigmod.Nat {
	if len(xs) == 0 {
		return nil
	}
	// prefix[i] = xs[0]·…·xs[i]
	prefix := make([]*bigmod.Nat, len(xs))
	prefix[0] = copyNat(xs[0])
	for i := 1; i < len(xs); i++ {
		prefix[i] = copyNat(prefix[i-1]).Mul(xs[i], p256Order)
	}
	// inv = (xs[0]·…·xs[i])⁻¹ as i goes down.
	inv := bigmod.NewNat().Exp(prefix[len(xs)-1], p256OrderMinus2, p256Order)
	out := make([]*bigmod.Nat, len(xs))
	for i := len(xs) - 1; i > 0; i-- {
		out[i] = copyNat(inv).Mul(prefix[i-1], p256Order)
		inv.Mul(xs[i], p256Order)
	}
	out[0] = inv
	wipe(prefix...)
	return out
}

// copyNat returns a copy of x, which is reduced modulo n.
func copyNat(x *bigmod.Nat) *bigmod.Nat {
	return bigmod.NewNat().ExpandFor(p256Order).Add(x, p256Order)
}

// signES256 makes the ES256 signature (r || s, 32 bytes each) of digest
// with the scalar d and nonce n: s = k⁻¹(e + r·d) mod n. ok is false only
// if s is zero (negligible); the caller then signs without the pool.
func signES256(d *bigmod.Nat, n esNonce, digest []byte) (sig [64]byte, ok bool) {
	e, err := bigmod.NewNat().SetOverflowingBytes(digest, p256Order)
	if err != nil {
		return sig, false
	}
	kInv, err := bigmod.NewNat().SetBytes(n.kInv[:], p256Order)
	if err != nil {
		return sig, false
	}
	s, err := bigmod.NewNat().SetBytes(n.r[:], p256Order)
	if err != nil {
		return sig, false
	}
	s.Mul(d, p256Order).Add(e, p256Order).Mul(kInv, p256Order)
	wipe(kInv)
	if s.IsZero() == 1 {
		return sig, false
	}
	copy(sig[:32], n.r[:])
	copy(sig[32:], s.Bytes(p256Order))
	return sig, true
}
