package idp

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// The harness drives the provider over HTTP as caddy-stepup and a browser
// would: /authorize, the login pages, the redirect back with a code, and
// the token endpoint, then reads the ID token's claims.

const (
	testClient   = "test-rp"
	testSecret   = "test-secret"
	testRedirect = "https://rp.test/callback"
	testVerifier = "a-pkce-verifier-that-is-long-enough-to-be-valid-0123456789"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type harness struct {
	t       *testing.T
	srv     *httptest.Server
	browser *http.Client
	clock   *clock
	mu      sync.Mutex
	codes   []string // one-time codes "sent", newest last
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, clock: &clock{t: time.Now()}}
	h.srv = httptest.NewServer(nil)
	t.Cleanup(h.srv.Close)
	handler, err := New(Config{
		Issuer: h.srv.URL,
		Client: ClientConfig{ID: testClient, Secret: testSecret, RedirectURIs: []string{testRedirect}},
		Users:  DemoUsers(),
		DeliverCode: func(u User, code string) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.codes = append(h.codes, code)
		},
		Now: h.clock.now,
	})
	if err != nil {
		t.Fatal(err)
	}
	h.srv.Config.Handler = handler
	jar, _ := cookiejar.New(nil)
	h.browser = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return h
}

func (h *harness) lastCode() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.codes) == 0 {
		h.t.Fatal("no one-time code was sent")
	}
	return h.codes[len(h.codes)-1]
}

func (h *harness) codesSent() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.codes)
}

// result is where the browser ended: a login page of the OP, or the
// relying party's redirect URI with its query.
type result struct {
	status   int
	body     string
	id       string     // the authorization request, on a login page
	callback url.Values // set when the OP redirected to the relying party
}

func (r result) step() string {
	if m := regexp.MustCompile(`name="step" value="(\w+)"`).FindStringSubmatch(r.body); m != nil {
		return m[1]
	}
	if r.callback != nil {
		return "callback"
	}
	return "none"
}

func (h *harness) authorize(extra url.Values) result {
	h.t.Helper()
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {testClient},
		"redirect_uri":          {testRedirect},
		"scope":                 {"openid profile"},
		"state":                 {"state-123"},
		"nonce":                 {"nonce-456"},
		"code_challenge":        {challenge(testVerifier)},
		"code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		if v == nil {
			q.Del(k)
		} else {
			q[k] = v
		}
	}
	return h.follow(h.get(h.srv.URL + "/authorize?" + q.Encode()))
}

func challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (h *harness) get(u string) *http.Response {
	h.t.Helper()
	resp, err := h.browser.Get(u)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp
}

// follow follows redirects within the OP and stops at the relying party.
func (h *harness) follow(resp *http.Response) result {
	h.t.Helper()
	for range 10 {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode >= 400 || loc == "" {
			r := result{status: resp.StatusCode, body: string(body)}
			if m := regexp.MustCompile(`name="id" value="([^"]+)"`).FindStringSubmatch(r.body); m != nil {
				r.id = m[1]
			}
			return r
		}
		next, err := resp.Request.URL.Parse(loc)
		if err != nil {
			h.t.Fatal(err)
		}
		if strings.HasPrefix(next.String(), testRedirect) {
			return result{status: resp.StatusCode, callback: next.Query()}
		}
		resp = h.get(next.String())
	}
	h.t.Fatal("too many redirects")
	return result{}
}

func (h *harness) post(id string, form url.Values) result {
	h.t.Helper()
	form.Set("id", id)
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", h.srv.URL)
	resp, err := h.browser.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	return h.follow(resp)
}

func (h *harness) password(r result, user, pw string) result {
	h.t.Helper()
	if r.step() != "password" {
		h.t.Fatalf("expected the password page, got %s (%d): %.300s", r.step(), r.status, r.body)
	}
	return h.post(r.id, url.Values{"step": {"password"}, "username": {user}, "password": {pw}})
}

func (h *harness) otp(r result, code string) result {
	h.t.Helper()
	if r.step() != "otp" {
		h.t.Fatalf("expected the code page, got %s (%d): %.300s", r.step(), r.status, r.body)
	}
	return h.post(r.id, url.Values{"step": {"otp"}, "code": {code}})
}

type idClaims struct {
	Subject  string   `json:"sub"`
	Nonce    string   `json:"nonce"`
	ACR      string   `json:"acr"`
	AMR      []string `json:"amr"`
	AuthTime int64    `json:"auth_time"`
}

// redeem exchanges the code as the relying party does and returns the
// verified ID token's claims.
func (h *harness) redeem(r result, verifier string) (idClaims, int) {
	h.t.Helper()
	if r.callback == nil || r.callback.Get("code") == "" {
		h.t.Fatalf("no code for the relying party: %s (%d) %v %.300s", r.step(), r.status, r.callback, r.body)
	}
	if r.callback.Get("state") != "state-123" {
		h.t.Errorf("state = %q", r.callback.Get("state"))
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {r.callback.Get("code")},
		"redirect_uri": {testRedirect}, "code_verifier": {verifier}}
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testClient, testSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		IDToken string `json:"id_token"`
	}
	if resp.StatusCode != http.StatusOK {
		return idClaims{}, resp.StatusCode
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil {
		h.t.Fatal(err)
	}
	return h.verify(tok.IDToken), resp.StatusCode
}

func (h *harness) verify(raw string) idClaims {
	h.t.Helper()
	var keys jose.JSONWebKeySet
	resp := h.get(h.srv.URL + "/keys")
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&keys); err != nil || len(keys.Keys) != 1 {
		h.t.Fatalf("keys: %v %d", err, len(keys.Keys))
	}
	sig, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		h.t.Fatal(err)
	}
	payload, err := sig.Verify(&keys.Keys[0])
	if err != nil {
		h.t.Fatalf("ID token signature: %v", err)
	}
	var c idClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		h.t.Fatal(err)
	}
	return c
}

func (h *harness) mustRedeem(r result) idClaims {
	h.t.Helper()
	c, status := h.redeem(r, testVerifier)
	if status != http.StatusOK {
		h.t.Fatalf("token endpoint answered %d", status)
	}
	return c
}
