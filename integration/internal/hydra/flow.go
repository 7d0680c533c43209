package hydra

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// The headless browser drives authorization-code flows without the plugin,
// for tests that need Hydra-issued tokens (e.g. bearer JWT access tokens).
// It keeps one cookie jar per Server, so consecutive flows share Hydra's
// login session when a login was remembered, like a real browser would.

// Tokens is a token endpoint response.
type Tokens struct {
	IDToken      string `json:"id_token"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
}

func newJar() http.CookieJar {
	jar, _ := cookiejar.New(nil) // never fails with nil options
	return jar
}

// ClearCookies gives the headless browser a fresh cookie jar (forgetting
// any Hydra login session), like a new browser.
func (s *Server) ClearCookies() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.jar = newJar()
}

// PKCE returns a fresh code_verifier and its S256 code_challenge.
func PKCE() (verifier, challenge string) {
	verifier = base64.RawURLEncoding.EncodeToString([]byte(randomHex(32)))
	sum := sha256.Sum256([]byte(verifier))
	return verifier, base64.RawURLEncoding.EncodeToString(sum[:])
}

// AuthorizeURL builds an authorization request for client: response_type
// code, the first redirect URI, all the client's scopes, a random state and
// nonce; params override or add to these.
func (s *Server) AuthorizeURL(client Client, params url.Values) string {
	q := url.Values{
		"response_type": {"code"},
		"client_id":     {client.ID},
		"redirect_uri":  {client.RedirectURIs[0]},
		"scope":         {strings.Join(client.Scopes, " ")},
		"state":         {randomHex(16)},
		"nonce":         {randomHex(16)},
	}
	for k, v := range params {
		q[k] = v
	}
	return s.PublicURL() + "/oauth2/auth?" + q.Encode()
}

// Authorize runs an authorization request through Hydra and the login &
// consent app, following redirects until Hydra sends the browser to the
// client's redirect_uri, and returns that redirect's query parameters (code
// and state, or error and error_description). It fails the test if the flow
// never reaches the redirect_uri.
func (s *Server) Authorize(t testing.TB, client Client, params url.Values) url.Values {
	t.Helper()
	redirect, err := url.Parse(client.RedirectURIs[0])
	if err != nil {
		t.Fatalf("hydra.Authorize: redirect URI: %v", err)
	}
	if params.Has("redirect_uri") {
		if redirect, err = url.Parse(params.Get("redirect_uri")); err != nil {
			t.Fatalf("hydra.Authorize: redirect_uri: %v", err)
		}
	}
	s.mu.Lock()
	jar := s.jar
	s.mu.Unlock()
	var final *url.URL
	browser := &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Scheme == redirect.Scheme && req.URL.Host == redirect.Host && req.URL.Path == redirect.Path {
				final = req.URL
				return http.ErrUseLastResponse
			}
			if len(via) >= 20 {
				return errors.New("too many redirects")
			}
			return nil
		},
	}
	resp, err := browser.Get(s.AuthorizeURL(client, params))
	if err != nil {
		t.Fatalf("hydra.Authorize: %v", err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if final == nil {
		t.Fatalf("hydra.Authorize: flow ended at %s (%s) instead of redirecting to %s: %s",
			resp.Request.URL, resp.Status, redirect, body)
	}
	return final.Query()
}

// CodeFlow runs a successful authorization-code flow and returns the code.
// It checks the returned state. For PKCE, pass code_challenge and
// code_challenge_method in params (see PKCE) and the verifier to Exchange.
func (s *Server) CodeFlow(t testing.TB, client Client, params url.Values) (code string) {
	t.Helper()
	if params == nil {
		params = url.Values{}
	}
	if !params.Has("state") {
		params = cloneValues(params)
		params.Set("state", randomHex(16))
	}
	got := s.Authorize(t, client, params)
	if e := got.Get("error"); e != "" {
		t.Fatalf("hydra.CodeFlow: authorization failed: %s: %s %s", e, got.Get("error_description"), got.Get("error_hint"))
	}
	if got.Get("state") != params.Get("state") {
		t.Fatalf("hydra.CodeFlow: state %q, want %q", got.Get("state"), params.Get("state"))
	}
	if got.Get("code") == "" {
		t.Fatalf("hydra.CodeFlow: no code in redirect: %v", got)
	}
	return got.Get("code")
}

// Exchange redeems an authorization code at the token endpoint with the
// client's authentication method; verifier may be "" without PKCE.
func (s *Server) Exchange(t testing.TB, client Client, code, verifier string) Tokens {
	t.Helper()
	form := url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {code},
		"redirect_uri": {client.RedirectURIs[0]},
	}
	if verifier != "" {
		form.Set("code_verifier", verifier)
	}
	return s.token(t, client, form)
}

// Refresh redeems a refresh token (the client needs offline_access).
func (s *Server) Refresh(t testing.TB, client Client, refreshToken string) Tokens {
	t.Helper()
	return s.token(t, client, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refreshToken}})
}

func (s *Server) token(t testing.TB, client Client, form url.Values) Tokens {
	t.Helper()
	switch client.TokenEndpointAuthMethod {
	case "client_secret_post":
		form.Set("client_id", client.ID)
		form.Set("client_secret", client.Secret)
	case "none":
		form.Set("client_id", client.ID)
	}
	req, err := http.NewRequest(http.MethodPost, s.PublicURL()+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if client.TokenEndpointAuthMethod == "" || client.TokenEndpointAuthMethod == "client_secret_basic" {
		// RFC 6749 §2.3.1: form-encode the credentials before Basic auth.
		req.SetBasicAuth(url.QueryEscape(client.ID), url.QueryEscape(client.Secret))
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("hydra token request: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("hydra token request: %s: %s", resp.Status, b)
	}
	var tok Tokens
	if err := json.Unmarshal(b, &tok); err != nil {
		t.Fatalf("hydra token response %q: %v", b, err)
	}
	return tok
}

func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}
