package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// testOP is a minimal OpenID Provider for the storage-sharing test: the
// discovery document, its signing key, and a token endpoint that redeems
// codes minted by the test itself (standing in for a user who logged in).
// It checks what a real OP checks at the token endpoint: the client secret,
// the code, and PKCE. The full browser flow against a real OP (Ory Hydra)
// is integration/core_test.go's job.
type testOP struct {
	srv      *httptest.Server
	clientID string
	secret   string
	key      *ecdsa.PrivateKey

	mu    sync.Mutex
	codes map[string]grant
}

type grant struct {
	nonce, challenge, sub, acr string
	amr                        []string
}

func startOP(t *testing.T, clientID, secret string) *testOP {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	op := &testOP{clientID: clientID, secret: secret, key: key, codes: map[string]grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", op.discovery)
	mux.HandleFunc("GET /jwks", op.jwks)
	mux.HandleFunc("POST /token", op.token)
	op.srv = httptest.NewServer(mux)
	t.Cleanup(op.srv.Close)
	return op
}

func (op *testOP) issuer() string { return op.srv.URL }

func (op *testOP) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                op.issuer(),
		"authorization_endpoint":                op.issuer() + "/authorize",
		"token_endpoint":                        op.issuer() + "/token",
		"jwks_uri":                              op.issuer() + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
	})
}

func (op *testOP) jwks(w http.ResponseWriter, r *http.Request) {
	point, err := op.key.PublicKey.Bytes() // 0x04 | X | Y
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256", "use": "sig",
		"x": b64(point[1:33]), "y": b64(point[33:65]),
	}}})
}

// login records that sub logged in with acr/amr for the authorization
// request carrying nonce and challenge, and returns the code to redeem.
func (op *testOP) login(nonce, challenge, sub, acr string, amr ...string) string {
	code := b64(randomBytes(24))
	op.mu.Lock()
	op.codes[code] = grant{nonce: nonce, challenge: challenge, sub: sub, acr: acr, amr: amr}
	op.mu.Unlock()
	return code
}

func (op *testOP) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request"})
		return
	}
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != op.clientID || subtle.ConstantTimeCompare([]byte(secret), []byte(op.secret)) != 1 {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	op.mu.Lock()
	g, found := op.codes[r.PostForm.Get("code")]
	delete(op.codes, r.PostForm.Get("code"))
	op.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !found || r.PostForm.Get("grant_type") != "authorization_code" || b64(sum[:]) != g.challenge {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
		return
	}
	now := time.Now()
	idToken := op.sign(map[string]any{
		"iss": op.issuer(), "aud": op.clientID, "sub": g.sub, "nonce": g.nonce,
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "auth_time": now.Unix(),
		"acr": g.acr, "amr": g.amr,
	})
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": b64(randomBytes(24)), "token_type": "Bearer", "expires_in": 300, "id_token": idToken,
	})
}

// sign makes a compact ES256 JWS.
func (op *testOP) sign(claims map[string]any) string {
	header, _ := json.Marshal(map[string]string{"alg": "ES256", "kid": "k1", "typ": "JWT"})
	payload, _ := json.Marshal(claims)
	input := b64(header) + "." + b64(payload)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, op.key, digest[:])
	if err != nil {
		panic(err)
	}
	sig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	return input + "." + b64(sig)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
