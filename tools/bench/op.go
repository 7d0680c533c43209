package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"time"
)

// provider is a throwaway OpenID Provider for minting sessions: discovery,
// JWKS, an authorization endpoint that signs the user in at once, and a
// token endpoint issuing RS256 (or ES256) ID tokens with the claims stepup
// checks, plus the email claims oauth2-proxy needs (the login benchmark).
type provider struct {
	issuer  string
	alg     string // RS256 or ES256
	key     *rsa.PrivateKey
	ecKey   *ecdsa.PrivateKey
	subject string
	acr     string
	amr     []string

	mu     sync.Mutex
	nonces map[string]string // code → nonce
	srv    *http.Server
}

func startProvider(subject, acr string, amr []string) (*provider, error) {
	return startProviderAlg("RS256", "127.0.0.1:0", subject, acr, amr)
}

// startProviderAlg is startProvider signing ID tokens with alg (RS256 with
// a 2048-bit key, or ES256), listening on listen.
func startProviderAlg(alg, listen, subject, acr string, amr []string) (*provider, error) {
	p := &provider{alg: alg, subject: subject, acr: acr, amr: amr, nonces: map[string]string{}}
	var err error
	switch alg {
	case "RS256":
		p.key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		p.ecKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		err = fmt.Errorf("unknown alg %q", alg)
	}
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	p.issuer = "http://" + ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	mux.HandleFunc("GET /userinfo", p.userinfo)
	p.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(ln)
	return p, nil
}

func (p *provider) close() { p.srv.Close() }

func (p *provider) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{
		"issuer":                                p.issuer,
		"authorization_endpoint":                p.issuer + "/authorize",
		"token_endpoint":                        p.issuer + "/token",
		"jwks_uri":                              p.issuer + "/jwks",
		"userinfo_endpoint":                     p.issuer + "/userinfo",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{p.alg},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":      []string{"S256"},
	})
}

func (p *provider) jwks(w http.ResponseWriter, _ *http.Request) {
	b64 := base64.RawURLEncoding.EncodeToString
	key := map[string]string{"use": "sig", "alg": p.alg, "kid": "bench"}
	if p.ecKey != nil {
		key["kty"], key["crv"] = "EC", "P-256"
		// Uncompressed point: 0x04 ‖ X ‖ Y, 32 bytes each on P-256.
		pt, err := p.ecKey.PublicKey.Bytes()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		key["x"], key["y"] = b64(pt[1:33]), b64(pt[33:65])
	} else {
		key["kty"], key["n"], key["e"] = "RSA", b64(p.key.N.Bytes()), b64(big.NewInt(int64(p.key.E)).Bytes())
	}
	writeJSON(w, map[string]any{"keys": []map[string]string{key}})
}

// userinfo answers any bearer with the subject's claims (oauth2-proxy may
// ask; stepup never does).
func (p *provider) userinfo(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, map[string]any{"sub": p.subject, "email": benchEmail, "email_verified": true})
}

// benchEmail is the subject's address: oauth2-proxy refuses a login
// without a verified email.
const benchEmail = "bench@example.com"

// authorize signs the user in without asking and returns to the client.
func (p *provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	back, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || back.Host == "" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	code := randomString()
	p.mu.Lock()
	p.nonces[code] = q.Get("nonce")
	p.mu.Unlock()
	v := back.Query()
	v.Set("code", code)
	v.Set("state", q.Get("state"))
	back.RawQuery = v.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (p *provider) token(w http.ResponseWriter, r *http.Request) {
	clientID, _, ok := r.BasicAuth()
	if !ok && r.PostFormValue("client_id") != "" { // client_secret_post
		clientID, ok = r.PostFormValue("client_id"), true
	}
	code := r.PostFormValue("code")
	p.mu.Lock()
	nonce, known := p.nonces[code]
	delete(p.nonces, code)
	p.mu.Unlock()
	if !ok || !known {
		w.WriteHeader(http.StatusBadRequest)
		writeJSON(w, map[string]string{"error": "invalid_grant"})
		return
	}
	now := time.Now()
	idToken, err := p.sign(map[string]any{
		"iss": p.issuer, "sub": p.subject, "aud": clientID, "nonce": nonce,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "auth_time": now.Unix(),
		"acr": p.acr, "amr": p.amr, "email": benchEmail, "email_verified": true,
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSON(w, map[string]any{"access_token": randomString(), "token_type": "Bearer", "expires_in": 3600, "id_token": idToken})
}

// sign makes a JWT signed with the provider's alg.
func (p *provider) sign(claims map[string]any) (string, error) {
	header, _ := json.Marshal(map[string]string{"alg": p.alg, "kid": "bench", "typ": "JWT"})
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	b64 := base64.RawURLEncoding.EncodeToString
	input := b64(header) + "." + b64(payload)
	digest := sha256.Sum256([]byte(input))
	if p.ecKey != nil {
		r, s, err := ecdsa.Sign(rand.Reader, p.ecKey, digest[:])
		if err != nil {
			return "", err
		}
		// JWS ES256: R and S, 32 bytes each (RFC 7518 §3.4), not ASN.1.
		sig := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
		return input + "." + b64(sig), nil
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, digest[:])
	if err != nil {
		return "", err
	}
	return input + "." + b64(sig), nil
}

// mint logs in through Caddy the way a browser does — a navigation to a
// protected page, the IdP's redirect back, the callback — and returns the
// Cookie header that browser then sends (session, and device when the risk
// engine hands one out). headers go on every request of the flow.
func mint(site, path string, headers map[string]string) (string, error) {
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	req, err := http.NewRequest(http.MethodGet, site+path, nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	req.Header.Set("X-Bench-Check", "1")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("login flow: %w", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Upstream-User") == "" {
		return "", fmt.Errorf("login flow ended with %s at %s: %s", resp.Status, resp.Request.URL, strings.TrimSpace(string(body)))
	}
	u, _ := url.Parse(site)
	var parts []string
	for _, c := range jar.Cookies(u) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	if len(parts) == 0 {
		return "", fmt.Errorf("login flow set no cookie")
	}
	return strings.Join(parts, "; "), nil
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func randomString() string {
	b := make([]byte, 18)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// serveOP runs the bench OP in its own process (`stepup-bench op`).
func serveOP(args []string) error {
	fs := flag.NewFlagSet("op", flag.ExitOnError)
	alg := fs.String("alg", "RS256", "ID token signature: RS256 or ES256")
	listen := fs.String("addr", "127.0.0.1:0", "listen address")
	fs.Parse(args)
	if _, err := startProviderAlg(*alg, *listen, benchUser, benchACR, []string{"pwd", "otp"}); err != nil {
		return err
	}
	select {}
}
