package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"testing"

	"crypto"
)

// The login benchmark's OP must sign ID tokens any verifier accepts: an
// ES256 signature is R‖S (RFC 7518 §3.4), not the ASN.1 ecdsa.SignASN1
// gives, and the JWKS it publishes must verify it.
func TestProviderSignsTokensItsJWKSVerifies(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256"} {
		t.Run(alg, func(t *testing.T) {
			p, err := startProviderAlg(alg, "127.0.0.1:0", benchUser, benchACR, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer p.close()
			token, err := p.sign(map[string]any{"sub": benchUser})
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(token, ".")
			var header struct{ Alg string }
			hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
			if err := json.Unmarshal(hb, &header); err != nil || header.Alg != alg {
				t.Fatalf("header %s: alg %q, want %s", hb, header.Alg, alg)
			}
			resp, err := http.Get(p.issuer + "/jwks")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var set struct{ Keys []map[string]string }
			if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || len(set.Keys) != 1 {
				t.Fatalf("jwks: %v %v", set, err)
			}
			k := set.Keys[0]
			num := func(s string) *big.Int {
				b, err := base64.RawURLEncoding.DecodeString(s)
				if err != nil {
					t.Fatal(err)
				}
				return new(big.Int).SetBytes(b)
			}
			sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
			digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
			switch k["kty"] {
			case "EC":
				x, _ := base64.RawURLEncoding.DecodeString(k["x"])
				y, _ := base64.RawURLEncoding.DecodeString(k["y"])
				pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
				if err != nil {
					t.Fatalf("published EC key: %v", err)
				}
				if len(sig) != 64 || !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
					t.Fatalf("ES256 signature (%d bytes) does not verify with the published key", len(sig))
				}
			case "RSA":
				pub := &rsa.PublicKey{N: num(k["n"]), E: int(num(k["e"]).Int64())}
				if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
					t.Fatalf("RS256 signature does not verify: %v", err)
				}
			default:
				t.Fatalf("kty %q", k["kty"])
			}
		})
	}
}

// The reload benchmark's config is valid JSON with one stepup handler per
// site, or none.
func TestReloadJSONHasOneStepupPerSite(t *testing.T) {
	for _, stepup := range []bool{false, true} {
		b := reloadJSON(3, stepup, "127.0.0.1:1", "127.0.0.1:2", "/tmp/x", "http://127.0.0.1:3")
		if !json.Valid(b) {
			t.Fatalf("invalid JSON: %s", b)
		}
		want := 0
		if stepup {
			want = 3
		}
		if got := strings.Count(string(b), `"handler":"stepup"`); got != want {
			t.Fatalf("stepup=%v: %d stepup handlers, want %d", stepup, got, want)
		}
	}
}
