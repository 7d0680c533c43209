package provider

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/testclock"
)

type jwksServer struct {
	*httptest.Server
	mu   sync.Mutex
	keys []jose.JSONWebKey
	hits atomic.Int32
	down atomic.Bool
}

func newJWKSServer(t *testing.T) *jwksServer {
	s := &jwksServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		if s.down.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: s.keys})
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) publish(key any, kid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, jose.JSONWebKey{Key: key, KeyID: kid, Use: "sig"})
}

func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := signer.Sign([]byte(`{"sub":"alice"}`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRemoteKeysPickUpRotationButRateLimitUnknownKeys(t *testing.T) {
	srv := newJWKSServer(t)
	first, _ := rsa.GenerateKey(rand.Reader, 2048)
	srv.publish(&first.PublicKey, "k1")
	c := testclock.New(time.Unix(1_800_000_000, 0))
	ks := &remoteKeys{url: srv.URL, client: srv.Client(), now: c.Now}
	ctx := context.Background()
	if _, err := ks.VerifySignature(ctx, sign(t, jose.RS256, first, "k1")); err != nil {
		t.Fatal(err)
	}
	// A token naming an unknown key causes at most one fetch per interval.
	stranger, _ := rsa.GenerateKey(rand.Reader, 2048)
	hits := srv.hits.Load()
	for range 5 {
		if _, err := ks.VerifySignature(ctx, sign(t, jose.RS256, stranger, "nope")); err == nil {
			t.Fatal("a token from an unpublished key verified")
		}
	}
	if got := srv.hits.Load() - hits; got > 1 {
		t.Fatalf("%d JWKS fetches for forged key ids within one interval", got)
	}
	// The IdP rotates: a token from the new key verifies once the interval passed.
	second, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	srv.publish(&second.PublicKey, "k2")
	c.Add(minKeyRefresh + time.Second)
	if _, err := ks.VerifySignature(ctx, sign(t, jose.ES256, second, "k2")); err != nil {
		t.Fatalf("rotated key not picked up: %v", err)
	}
}

func TestRemoteKeysRefuseNoneAndHMAC(t *testing.T) {
	srv := newJWKSServer(t)
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	srv.publish(&key.PublicKey, "k1")
	ks := &remoteKeys{url: srv.URL, client: srv.Client(), now: time.Now}
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"k1"}`))
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"alice"}`))
	if _, err := ks.VerifySignature(context.Background(), header+"."+payload+"."); err == nil {
		t.Fatal("alg none accepted")
	}
	pub, _ := json.Marshal(jose.JSONWebKey{Key: &key.PublicKey})
	if _, err := ks.VerifySignature(context.Background(), sign(t, jose.HS256, pub, "k1")); err == nil {
		t.Fatal("HS256 keyed with the public key accepted")
	}
}

func TestRemoteKeysBackOffWhileTheIdPFails(t *testing.T) {
	srv := newJWKSServer(t)
	srv.down.Store(true)
	c := testclock.New(time.Unix(1_800_000_000, 0))
	ks := &remoteKeys{url: srv.URL, client: srv.Client(), now: c.Now}
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, err := ks.VerifySignature(context.Background(), sign(t, jose.RS256, key, "k1"))
	if _, down := IsUnavailable(err); !down {
		t.Fatalf("JWKS outage reported as %v, want unavailable", err)
	}
	hits := srv.hits.Load()
	c.Add(minKeyRefresh / 2)
	_, err = ks.VerifySignature(context.Background(), sign(t, jose.RS256, key, "k1"))
	if _, down := IsUnavailable(err); !down {
		t.Fatalf("during the backoff the answer is %v, want unavailable", err)
	}
	if srv.hits.Load() != hits {
		t.Fatal("retried the JWKS before the backoff expired")
	}
}

func TestKeysFromTheTokenEndpointRefreshDespiteTheRateLimit(t *testing.T) {
	srv := newJWKSServer(t)
	first, _ := rsa.GenerateKey(rand.Reader, 2048)
	srv.publish(&first.PublicKey, "k1")
	c := testclock.New(time.Unix(1_800_000_000, 0))
	ks := &remoteKeys{url: srv.URL, client: srv.Client(), now: c.Now}
	if _, err := ks.VerifySignature(context.Background(), sign(t, jose.RS256, first, "k1")); err != nil {
		t.Fatal(err)
	}
	second, _ := rsa.GenerateKey(rand.Reader, 2048)
	srv.publish(&second.PublicKey, "k2") // the IdP rotates right after our fetch
	if _, err := ks.VerifySignature(withForcedKeyRefresh(context.Background()), sign(t, jose.RS256, second, "k2")); err != nil {
		t.Fatalf("an ID token from a just-rotated key was refused: %v", err)
	}
}
