package rogueop

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// The endpoints answer as an honest IdP would; what the token endpoint
// answers after a valid redemption is the test's (Provider.OnToken).

func (p *Provider) serveDiscovery(w http.ResponseWriter, _ *http.Request) {
	iss := p.Issuer()
	doc := map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/authorize",
		"token_endpoint":                        iss + "/token",
		"jwks_uri":                              iss + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"claims_parameter_supported":            true,
		// A rogue IdP advertises the dangerous algorithms too; the relying
		// party must not take that as permission to accept them.
		"id_token_signing_alg_values_supported": []string{"RS256", "ES256", "HS256", "none"},
	}
	if p.opts.EditDiscovery != nil {
		p.opts.EditDiscovery(doc)
	}
	writeJSON(w, http.StatusOK, doc)
}

func (p *Provider) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || !redirect.IsAbs() || q.Get("client_id") != p.opts.ClientID || q.Get("response_type") != "code" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	g := Grant{
		Code:        "rogue-code-" + randomString(24),
		ClientID:    q.Get("client_id"),
		RedirectURI: q.Get("redirect_uri"),
		State:       q.Get("state"),
		Nonce:       q.Get("nonce"),
		ACRValues:   strings.Fields(q.Get("acr_values")),
		MaxAge:      q.Get("max_age"),
		Prompt:      q.Get("prompt"),
		LoginHint:   q.Get("login_hint"),
		Claims:      q.Get("claims"),
		Query:       q,
	}
	p.mu.Lock()
	p.grants[g.Code] = &g
	p.authorized = append(p.authorized, g)
	p.mu.Unlock()
	back := redirect.Query()
	back.Set("code", g.Code)
	if g.State != "" {
		back.Set("state", g.State)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (p *Provider) serveToken(w http.ResponseWriter, r *http.Request) {
	reply := p.redeem(r)
	call := TokenCall{Code: r.PostForm.Get("code"), Verifier: r.PostForm.Get("code_verifier"), ClientAuth: "none", Reply: reply}
	if _, _, ok := r.BasicAuth(); ok {
		call.ClientAuth = "client_secret_basic"
	} else if r.PostForm.Get("client_secret") != "" {
		call.ClientAuth = "client_secret_post"
	}
	p.mu.Lock()
	p.calls = append(p.calls, call)
	p.mu.Unlock()
	status := reply.Status
	if status == 0 {
		status = http.StatusOK
	}
	body := reply.Body
	if body == nil {
		body = map[string]any{}
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, body)
}

// redeem checks the token request as an honest IdP would and, when it
// holds, asks the test what to answer.
func (p *Provider) redeem(r *http.Request) Reply {
	if err := r.ParseForm(); err != nil {
		return Error(http.StatusBadRequest, "invalid_request")
	}
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.opts.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.opts.ClientSecret)) != 1 {
		return Error(http.StatusUnauthorized, "invalid_client")
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		return Error(http.StatusBadRequest, "unsupported_grant_type")
	}
	p.mu.Lock()
	stored, ok := p.grants[r.PostForm.Get("code")]
	var g Grant
	if ok {
		g = *stored
	}
	script := p.onToken
	p.mu.Unlock()
	if !ok || g.Redemptions > 0 {
		return Error(http.StatusBadRequest, "invalid_grant")
	}
	if r.PostForm.Get("redirect_uri") != g.RedirectURI {
		return Error(http.StatusBadRequest, "invalid_grant")
	}
	g.Verifier = r.PostForm.Get("code_verifier")
	sum := sha256.Sum256([]byte(g.Verifier))
	if g.Query.Get("code_challenge_method") != "S256" ||
		base64.RawURLEncoding.EncodeToString(sum[:]) != g.Query.Get("code_challenge") {
		return Error(http.StatusBadRequest, "invalid_grant")
	}
	if script == nil {
		script = p.HonestReply
	}
	reply := script(g)
	if reply.Status == 0 || reply.Status/100 == 2 {
		// Only a code that bought tokens counts as used.
		p.mu.Lock()
		stored.Redemptions++
		p.mu.Unlock()
	}
	return reply
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
