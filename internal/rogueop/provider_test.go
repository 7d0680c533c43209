package rogueop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestTheTokenEndpointIsHonestAboutCodesPKCEAndClients(t *testing.T) {
	p := Start(t, Options{ClientID: "rp", ClientSecret: "rp-secret"})
	verifier := "a-verifier-of-forty-three-characters-xxxxxx"
	sum := sha256.Sum256([]byte(verifier))
	code := p.authorize(t, url.Values{
		"response_type": {"code"}, "client_id": {"rp"}, "redirect_uri": {"https://rp.test/cb"},
		"state": {"st"}, "nonce": {"nn"}, "acr_values": {"gold silver"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	})
	for _, tc := range []struct {
		name                 string
		secret, sentVerifier string
		want                 int
	}{
		{"WrongSecretIsInvalidClient", "nope", verifier, http.StatusUnauthorized},
		{"WrongVerifierIsInvalidGrant", "rp-secret", verifier + "x", http.StatusBadRequest},
		{"RightVerifierBuysTokens", "rp-secret", verifier, http.StatusOK},
		{"ASecondRedemptionIsInvalidGrant", "rp-secret", verifier, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := p.redeemCode(t, code, tc.secret, tc.sentVerifier)
			if status != tc.want {
				t.Fatalf("got %d %v, want %d", status, body, tc.want)
			}
			if status != http.StatusOK {
				return
			}
			claims := verifyRS256(t, p, body["id_token"].(string))
			if claims["nonce"] != "nn" || claims["acr"] != "gold" || claims["iss"] != p.Issuer() {
				t.Errorf("honest claims: %v", claims)
			}
		})
	}
}

func TestSignaturesVerifyWithThePublishedKeys(t *testing.T) {
	p := Start(t, Options{ClientID: "rp"})
	c := Claims{"sub": "alice"}
	verifyRS256(t, p, p.SignRS256(c))
	verifyES256(t, p, p.SignES256(c))
	old := p.RSAKeyID()
	if kid := p.RotateRSAKey(true); kid == old || jwks(t, p)[old] != nil {
		t.Fatalf("a retired key %s is still published", old)
	}
	verifyRS256(t, p, p.SignRS256(c))
	if parts := strings.Split(Unsigned(c), "."); len(parts) != 3 || parts[2] != "" {
		t.Fatalf("an unsigned JWT: %v", parts)
	}
}

func (p *Provider) authorize(t *testing.T, q url.Values) string {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(p.Issuer() + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusFound || loc.Query().Get("state") != q.Get("state") {
		t.Fatalf("authorize: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	return loc.Query().Get("code")
}

func (p *Provider) redeemCode(t *testing.T, code, secret, verifier string) (int, map[string]any) {
	t.Helper()
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"https://rp.test/cb"}, "code_verifier": {verifier}}
	req, _ := http.NewRequest(http.MethodPost, p.Issuer()+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("rp", secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

// jwks returns the published keys by kid.
func jwks(t *testing.T, p *Provider) map[string]map[string]string {
	t.Helper()
	resp, err := http.Get(p.Issuer() + "/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct{ Keys []map[string]string }
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, k := range set.Keys {
		out[k["kid"]] = k
	}
	return out
}

// parse splits a compact JWT and returns its header, claims, signing input
// and signature.
func parse(t *testing.T, tok string) (map[string]any, map[string]any, []byte, []byte) {
	t.Helper()
	parts := strings.Split(tok, ".")
	var h, c map[string]any
	for i, dst := range []*map[string]any{&h, &c} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil || json.Unmarshal(b, dst) != nil {
			t.Fatalf("JWT part %d: %v", i, err)
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	return h, c, []byte(parts[0] + "." + parts[1]), sig
}

func num(t *testing.T, s string) *big.Int {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return new(big.Int).SetBytes(b)
}

func verifyRS256(t *testing.T, p *Provider, tok string) map[string]any {
	t.Helper()
	h, c, in, sig := parse(t, tok)
	k, ok := jwks(t, p)[h["kid"].(string)]
	if !ok || h["alg"] != "RS256" {
		t.Fatalf("RS256 header %v: key published %v", h, ok)
	}
	pub := &rsa.PublicKey{N: num(t, k["n"]), E: int(num(t, k["e"]).Int64())}
	sum := sha256.Sum256(in)
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		t.Fatalf("RS256 signature: %v", err)
	}
	return c
}

func verifyES256(t *testing.T, p *Provider, tok string) {
	t.Helper()
	h, _, in, sig := parse(t, tok)
	k, ok := jwks(t, p)[h["kid"].(string)]
	if !ok || h["alg"] != "ES256" || len(sig) != 64 {
		t.Fatalf("ES256 header %v, key published %v, signature %d bytes", h, ok, len(sig))
	}
	point := append([]byte{4}, append(num(t, k["x"]).FillBytes(make([]byte, 32)), num(t, k["y"]).FillBytes(make([]byte, 32))...)...)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point)
	if err != nil {
		t.Fatalf("ES256 key: %v", err)
	}
	sum := sha256.Sum256(in)
	if !ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("ES256 signature does not verify")
	}
}
