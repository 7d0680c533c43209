package stepup

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/testclock"
)

func kids(keys []*signingKey) []string {
	var out []string
	for _, k := range keys {
		out = append(out, k.id)
	}
	return out
}

// loadNow reloads the key set as a request would once it fell due,
// synchronously so the test sees the result.
func loadNow(t *testing.T, k *assertionKeys) *signingKeySet {
	t.Helper()
	s, err := k.ring.Load(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNewAssertionKeyIsPublishedBeforeItSignsAndRetiredOneUntilItsAssertionsExpired(t *testing.T) {
	c := testclock.New(time.Unix(1_800_000_000, 0))
	const rotation, lifetime = time.Hour, 30 * time.Second
	k := newAssertionKeys(testStorage(t), rotation, lifetime, c.Now)
	lead := k.lead() // 10m: a quarter of the rotation is longer
	first := loadNow(t, k)
	if len(first.keys) != 1 || first.signer(c.Now(), lead) != first.keys[0] {
		t.Fatal("a fresh store's first key does not sign at once")
	}
	old := first.keys[0].id

	c.Add(rotation)
	set := loadNow(t, k)
	if len(set.keys) != 2 {
		t.Fatalf("%d keys after a rotation, want 2", len(set.keys))
	}
	next := set.keys[1].id
	if got := set.signer(c.Now(), lead).id; got != old {
		t.Fatal("the new key signs before it was published for the lead time")
	}
	if got := kids(k.published(set, c.Now())); !slices.Equal(got, []string{old, next}) {
		t.Fatalf("published %v, want both keys while the new one waits", got)
	}

	c.Add(lead)
	if got := set.signer(c.Now(), lead).id; got != next {
		t.Fatal("the new key does not sign after the lead time")
	}
	// The old key signed until now; its last assertions live for lifetime.
	c.Add(lifetime + assertionKeySkew - time.Second)
	if got := kids(k.published(set, c.Now())); !slices.Equal(got, []string{old, next}) {
		t.Fatalf("published %v: the old key was withdrawn while assertions it signed were still valid", got)
	}
	c.Add(time.Second)
	if got := kids(k.published(set, c.Now())); !slices.Equal(got, []string{next}) {
		t.Fatalf("published %v, want the retired key withdrawn once its assertions expired", got)
	}

	// The next rotation prunes it from storage.
	c.Add(rotation)
	set = loadNow(t, k)
	if got := kids(set.keys); len(got) != 2 || got[0] != next || slices.Contains(got, old) {
		t.Fatalf("stored keys after the next rotation: %v", got)
	}
}

func TestReplicasSharingStorageRotateToOneNewKey(t *testing.T) {
	c := testclock.New(time.Unix(1_800_000_000, 0))
	storage := testStorage(t)
	a := newAssertionKeys(storage, time.Hour, 30*time.Second, c.Now)
	b := newAssertionKeys(storage, time.Hour, 30*time.Second, c.Now)
	if x, y := loadNow(t, a), loadNow(t, b); !slices.Equal(kids(x.keys), kids(y.keys)) || len(x.keys) != 1 {
		t.Fatalf("replicas started with different keys: %v %v", kids(x.keys), kids(y.keys))
	}
	c.Add(time.Hour)
	x, y := loadNow(t, a), loadNow(t, b)
	if !slices.Equal(kids(x.keys), kids(y.keys)) || len(x.keys) != 2 {
		t.Fatalf("after both rotated: %v and %v, want the same two keys", kids(x.keys), kids(y.keys))
	}
}

func TestDueKeySetIsRefreshedInTheBackgroundWithoutBlockingSigning(t *testing.T) {
	c := testclock.New(time.Unix(1_800_000_000, 0))
	k := newAssertionKeys(testStorage(t), time.Hour, 30*time.Second, c.Now)
	first, err := k.keys(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c.Add(time.Hour)
	if s, _ := k.keys(context.Background()); s != first {
		t.Fatal("a due key set was not served while it refreshes")
	}
	// The refresh ran in the background: wait for its result (or time out).
	for s, _ := k.keys(context.Background()); len(s.keys) != 2; s, _ = k.keys(context.Background()) {
		time.Sleep(time.Millisecond)
	}
}

// The JWS signature is r and s as 32 bytes each (RFC 7518, 3.4), also when
// either is shorter: the deterministic nonce and a fixed key make the runs
// below the same every time, and among them are signatures whose r or s
// has a leading zero byte, which must be padded, not dropped.
func TestES256SignatureIsRAndSPaddedTo32BytesEach(t *testing.T) {
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), bytes.Repeat([]byte{0x17}, 32))
	if err != nil {
		t.Fatal(err)
	}
	key := &signingKey{id: "k", priv: priv, header: jwsHeader("k")}
	short := 0
	for i := range 1024 {
		tok, _, err := signCompact(key, []byte(fmt.Sprintf(`{"n":%d}`, i)), nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		dot := strings.LastIndexByte(tok, '.')
		sig, err := base64.RawURLEncoding.DecodeString(tok[dot+1:])
		if err != nil || len(sig) != 64 {
			t.Fatalf("signature %d: %d bytes (%v), want 64", i, len(sig), err)
		}
		if sig[0] == 0 || sig[32] == 0 {
			short++
		}
		digest := sha256.Sum256([]byte(tok[:dot]))
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(&priv.PublicKey, digest[:], r, s) {
			t.Fatalf("signature %d does not verify", i)
		}
	}
	if short == 0 {
		t.Fatal("no signature with a short r or s among 1024: the padding went untested")
	}
	if _, ok := rawES256Signature([]byte{0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01}); ok {
		t.Fatal("a negative r was accepted")
	}
}
