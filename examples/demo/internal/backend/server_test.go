package backend

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/caddy-stepup/caddy-stepup/verify"
)

const site = "https://app.example"

// testEdge signs assertions as Caddy would and publishes its key; the
// round trip through a real Caddy is in the integration tests.
type testEdge struct {
	signer jose.Signer
	jwks   *httptest.Server
}

func newTestEdge(t *testing.T) *testEdge {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: priv},
		(&jose.SignerOptions{}).WithType(verify.MediaType).WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &priv.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	}))
	t.Cleanup(jwks.Close)
	return &testEdge{signer: signer, jwks: jwks}
}

// assertion is alice's (password sign-in at 1767348000) for method and path.
func (e *testEdge) assertion(t *testing.T, method, path string) []string {
	c := verify.Claims{
		Issuer: site, Audience: Audience, Subject: "alice", ACR: "urn:stepup:pwd", AMR: []string{"pwd"},
		AuthTime: 1767348000, Rule: "signed_in", Method: method, URL: site + path, IssuedAt: 1767348030, Expires: 1767348060,
	}
	payload, _ := json.Marshal(c)
	jws, err := e.signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := jws.CompactSerialize()
	return []string{verify.DefaultHeader, tok}
}

func request(method, target, body string, headers ...string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return r
}

func TestBackend(t *testing.T) {
	e := newTestEdge(t)
	now := func() time.Time { return time.Unix(1767348030, 0) }
	v, err := verify.New(verify.Options{JWKSURL: e.jwks.URL, Issuer: site, Audience: Audience, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	h := New(Config{MFA: "urn:stepup:mfa", TransferMaxAge: "2m", SettingsMaxAge: "5m", Now: now, Verifier: v})
	json := []string{"Content-Type", "application/json"}
	form := []string{"Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Site", "same-origin"}
	as := func(method, path string, more ...string) []string {
		return append(e.assertion(t, method, path), more...)
	}
	tests := []struct {
		name       string
		req        *http.Request
		wantStatus int
		wantBody   string
	}{
		{"the home page is public", request("GET", "/", ""), 200, "Step-up authentication"},
		{"a page without an assertion is refused", request("GET", "/admin", ""), 403, "reached through Caddy"},
		{"forged identity headers without an assertion are refused", request("GET", "/api/me", "", "X-User", "alice", "X-Acr", "urn:stepup:mfa"), 403, "no valid step-up assertion"},
		{"an assertion made for another page is refused", request("GET", "/admin", "", as("GET", "/api/me")...), 403, "no valid step-up assertion"},
		{"a tampered assertion is refused", request("GET", "/admin", "", verify.DefaultHeader, e.assertion(t, "GET", "/admin")[1]+"x"), 403, "no valid step-up assertion"},
		{"the admin page shows who the assertion says", request("GET", "/admin", "", as("GET", "/admin")...), 200, "Signed in as <b>alice</b>"},
		{"the transfer page shows the sign-in's age", request("GET", "/transfer", "", as("GET", "/transfer")...), 200, ">30s</span> ago"},
		{"/api/me answers the identity and the decoded assertion", request("GET", "/api/me", "", as("GET", "/api/me")...), 200, `"htu":"https://app.example/api/me"`},
		{"a transfer moves money and says so on the page it redirects to", request("POST", "/transfer", "to=bob&amount=25", as("POST", "/transfer", form...)...), 303, ""},
		{"the page after a transfer names it by number only", request("GET", "/transfer?sent=1", "", as("GET", "/transfer")...), 200, "Sent 25.00 to bob (transfer #1)."},
		{"a transfer sent as JSON is refused", request("POST", "/transfer", `{"to":"bob","amount":"25"}`, as("POST", "/transfer", json...)...), 400, "send the transfer form"},
		{"a transfer from another site's form is refused", request("POST", "/transfer", "to=bob&amount=25", as("POST", "/transfer", append(form, "Sec-Fetch-Site", "cross-site")...)...), 403, "own form"},
		{"a transfer of nothing is refused, the form kept", request("POST", "/transfer", "to=bob&amount=0", as("POST", "/transfer", form...)...), 400, `value="bob"`},
		{"settings are saved", request("POST", "/settings", "email=a%40example.test&daily_limit=50", as("POST", "/settings", form...)...), 303, ""},
		{"the page after saving says so and shows them", request("GET", "/settings?saved", "", as("GET", "/settings")...), 200, `value="a@example.test"`},
		{"settings sent as JSON are refused", request("POST", "/settings", `{"email":"a@example.test","daily_limit":"50"}`, as("POST", "/settings", json...)...), 400, "send the settings form"},
		{"a bad limit is refused, the form kept", request("POST", "/settings", "email=b%40example.test&daily_limit=lots", as("POST", "/settings", form...)...), 400, `value="lots"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, tt.req)
			if w.Code != tt.wantStatus || !strings.Contains(w.Body.String(), tt.wantBody) {
				t.Fatalf("%d %q, want %d containing %q", w.Code, w.Body.String(), tt.wantStatus, tt.wantBody)
			}
		})
	}
}
