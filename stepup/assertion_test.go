package stepup

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/go-jose/go-jose/v4"
)

// withAssertion turns assertions on for audience "backend".
func withAssertion(configure func(c *AssertionConfig)) func(h *Handler) {
	return func(h *Handler) {
		h.Assertion = &AssertionConfig{Audience: "backend"}
		if configure != nil {
			configure(h.Assertion)
		}
	}
}

// jwks fetches the handler's JWKS document through ServeHTTP.
func (th *testHandler) jwks(t *testing.T) (jose.JSONWebKeySet, http.Header) {
	t.Helper()
	out := th.serve(t, request("GET", "http://127.0.0.1"+th.asserter.jwksPath))
	if out.rec.Code != http.StatusOK {
		t.Fatalf("JWKS: %d %s", out.rec.Code, out.rec.Body)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(out.rec.Body.Bytes(), &set); err != nil {
		t.Fatalf("JWKS does not parse: %v\n%s", err, out.rec.Body)
	}
	return set, out.rec.Header()
}

// verifyAssertion checks token with go-jose against the handler's JWKS,
// independently of our own verify module, and returns its claims.
func (th *testHandler) verifyAssertion(t *testing.T, token string) (assertionClaims, jose.Header) {
	t.Helper()
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("assertion does not parse: %v", err)
	}
	hdr := jws.Signatures[0].Protected
	set, _ := th.jwks(t)
	keys := set.Key(hdr.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q is not published once: %d keys", hdr.KeyID, len(keys))
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("assertion does not verify: %v", err)
	}
	var c assertionClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	return c, hdr
}

func TestPassingRequestCarriesAnAssertionThatVerifiesAgainstThePublishedKeys(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), withAssertion(nil))
	s := th.session("urn:otp", "pwd", "otp")
	s.AuthTime = th.clock.Now().Add(-time.Minute)
	out := th.serve(t, request("POST", "http://127.0.0.1/admin/users", "Cookie", th.cookieFor(t, s)))
	if out.upstream == nil {
		t.Fatalf("sufficient session refused: %d", out.rec.Code)
	}
	token := out.upstream.Header.Get("Stepup-Assertion")
	c, hdr := th.verifyAssertion(t, token)
	if typ, _ := hdr.ExtraHeaders[jose.HeaderType].(string); typ != assertionMediaType || hdr.Algorithm != "ES256" {
		t.Fatalf("header typ %q alg %q", typ, hdr.Algorithm)
	}
	now := th.clock.Now().Unix()
	want := assertionClaims{
		Issuer: "http://127.0.0.1", Audience: "backend", Subject: "alice", ACR: "urn:otp", AMR: []string{"pwd", "otp"},
		AuthTime: now - 60, Rule: "admin", Method: "POST", URL: "http://127.0.0.1/admin/users",
		IssuedAt: now, Expires: now + 30,
	}
	got, _ := json.Marshal(c)
	if wantJSON, _ := json.Marshal(want); string(got) != string(wantJSON) {
		t.Fatalf("claims\n got %s\nwant %s", got, wantJSON)
	}
}

func TestClientSuppliedAssertionIsRemovedEvenWhereNoRuleApplies(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), withAssertion(nil))
	out := th.serve(t, request("GET", "http://127.0.0.1/public", "Stepup-Assertion", "forged", "Stepup_Assertion", "forged"))
	if out.upstream == nil {
		t.Fatalf("public request refused: %d", out.rec.Code)
	}
	for name, v := range out.upstream.Header {
		if strings.EqualFold(strings.ReplaceAll(name, "_", "-"), "Stepup-Assertion") {
			t.Fatalf("client-supplied %s: %v reached the upstream", name, v)
		}
	}
}

func TestAssertionIsReusedForTheSameTargetDuringHalfItsLifetimeOnly(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), withAssertion(func(c *AssertionConfig) { c.Lifetime = caddy.Duration(20 * time.Second) }))
	cookie := th.cookieFor(t, th.session("urn:otp", "pwd", "otp"))
	get := func(method, path string) string {
		t.Helper()
		out := th.serve(t, request(method, "http://127.0.0.1"+path, "Cookie", cookie))
		tok := out.upstream.Header.Get("Stepup-Assertion")
		if tok == "" {
			t.Fatalf("%s %s: no assertion", method, path)
		}
		return tok
	}
	first := get("GET", "/admin/a")
	// Early in the reuse window: reused, and not re-signed either.
	th.clock.Add(2 * time.Second)
	if again := get("GET", "/admin/a"); again != first {
		t.Fatal("the same target within half the lifetime was signed again")
	}
	if get("GET", "/admin/b") == first || get("DELETE", "/admin/a") == first {
		t.Fatal("another path or method reused the assertion of /admin/a")
	}
	// No request for /admin/a since: nothing re-signed it, and at half its
	// lifetime it is signed again for the request.
	th.clock.Add(8 * time.Second)
	if later := get("GET", "/admin/a"); later == first {
		t.Fatal("an assertion past half its lifetime was reused")
	} else if c, _ := th.verifyAssertion(t, later); c.Expires != th.clock.Now().Unix()+20 {
		t.Fatalf("re-signed assertion expires at %d, want now+20s", c.Expires)
	}
}

func TestJWKSIsServedWithCachingHeadersWhateverTheRules(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), withAssertion(func(c *AssertionConfig) { c.JWKSPath = "/keys" }))
	set, hdr := th.jwks(t)
	if len(set.Keys) != 1 || set.Keys[0].Algorithm != "ES256" || set.Keys[0].Use != "sig" || !set.Keys[0].Valid() || !set.Keys[0].IsPublic() {
		t.Fatalf("JWKS keys: %+v", set.Keys)
	}
	if tp, _ := set.Keys[0].Thumbprint(crypto.SHA256); base64.RawURLEncoding.EncodeToString(tp) != set.Keys[0].KeyID {
		t.Fatalf("kid %q is not the key's RFC 7638 thumbprint", set.Keys[0].KeyID)
	}
	if hdr.Get("Content-Type") != "application/jwk-set+json" || hdr.Get("Cache-Control") != "public, max-age=300" {
		t.Fatalf("headers: %v", hdr)
	}
	out := th.serve(t, request("POST", "http://127.0.0.1/keys"))
	if out.rec.Code != http.StatusMethodNotAllowed || out.upstream != nil {
		t.Fatalf("POST to the JWKS path: %d", out.rec.Code)
	}
}

func TestRiskScoreIsAssertedWhenTheRiskEngineIsOn(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), func(h *Handler) {
		withRisk(blocklist(t, "203.0.113.0/24"), 20, nil)(h)
		withAssertion(nil)(h)
	})
	cookie := th.cookieFor(t, th.session("urn:otp", "pwd", "otp"))
	out := th.serveFrom(t, request("GET", "http://127.0.0.1/admin", "Cookie", cookie), "203.0.113.9")
	if out.upstream == nil {
		t.Fatalf("refused: %d", out.rec.Code)
	}
	c, _ := th.verifyAssertion(t, out.upstream.Header.Get("Stepup-Assertion"))
	if c.RiskScore == nil || *c.RiskScore != 20 {
		t.Fatalf("risk_score = %v, want 20", c.RiskScore)
	}
}

func TestReportOnlyPassIsMarkedInTheAssertion(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), func(h *Handler) {
		h.ReportOnly = true
		withAssertion(nil)(h)
	})
	cookie := th.cookieFor(t, th.session("urn:pwd", "pwd"))
	out := th.serve(t, request("GET", "http://127.0.0.1/admin", "Cookie", cookie, "Accept", "application/json"))
	if out.upstream == nil {
		t.Fatalf("report-only refused: %d", out.rec.Code)
	}
	if c, _ := th.verifyAssertion(t, out.upstream.Header.Get("Stepup-Assertion")); !c.ReportOnly || c.Rule != "admin" {
		t.Fatalf("a weak session passing a report-only rule: report_only %v rule %q", c.ReportOnly, c.Rule)
	}
}
