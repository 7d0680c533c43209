package idp

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The login flows of the demo OP, driven over HTTP by the harness.

func TestPasswordLoginGrantsThePasswordLevel(t *testing.T) {
	h := newHarness(t)
	c := h.mustRedeem(h.password(h.authorize(nil), "alice", "wonderland"))
	if c.Subject != "alice" || c.ACR != ACRPassword || !slices.Equal(c.AMR, []string{"pwd"}) || c.Nonce != "nonce-456" {
		t.Fatalf("claims = %+v", c)
	}
	if c.AuthTime != h.clock.now().Unix() {
		t.Errorf("auth_time = %d, want %d", c.AuthTime, h.clock.now().Unix())
	}
}

func TestMFAInACRValuesAsksForTheCodeAfterThePassword(t *testing.T) {
	h := newHarness(t)
	afterPassword := h.password(h.authorize(url.Values{"acr_values": {ACRMFA}}), "alice", "wonderland")
	c := h.mustRedeem(h.otp(afterPassword, h.lastCode()))
	if c.ACR != ACRMFA || !slices.Equal(c.AMR, []string{"pwd", "otp"}) {
		t.Fatalf("claims = %+v", c)
	}
}

func TestSSOSessionAnswersWithoutAPage(t *testing.T) {
	h := newHarness(t)
	first := h.mustRedeem(h.password(h.authorize(nil), "alice", "wonderland"))
	h.clock.advance(time.Minute)
	second := h.authorize(nil)
	if second.step() != "callback" {
		t.Fatalf("a second login showed the %s page", second.step())
	}
	if c := h.mustRedeem(second); c.AuthTime != first.AuthTime {
		t.Errorf("auth_time moved from %d to %d without an authentication", first.AuthTime, c.AuthTime)
	}
}

func TestStepUpOfAPasswordSessionAsksOnlyForTheCode(t *testing.T) {
	h := newHarness(t)
	h.mustRedeem(h.password(h.authorize(nil), "alice", "wonderland"))
	h.clock.advance(time.Minute)
	stepUp := h.authorize(url.Values{"acr_values": {ACRMFA}, "login_hint": {"alice"}})
	c := h.mustRedeem(h.otp(stepUp, h.lastCode()))
	if c.ACR != ACRMFA || c.AuthTime != h.clock.now().Unix() {
		t.Fatalf("claims = %+v, want mfa at %d", c, h.clock.now().Unix())
	}
}

func TestReauthentication(t *testing.T) {
	tests := []struct {
		name     string
		after    time.Duration
		params   url.Values
		wantPage string
		wantWhy  string
	}{
		{"prompt=login asks for the password", time.Second, url.Values{"prompt": {"login"}}, "password", "fresh sign-in (prompt=login)"},
		{"max_age passed asks for the password", 3 * time.Minute, url.Values{"max_age": {"120"}}, "password", "at most 2m0s (max_age=120)"},
		{"max_age with prompt=login shows the site's max_age", 3 * time.Minute,
			url.Values{"max_age": {"120"}, "prompt": {"login"}, "login_hint": {"alice"}}, "password", "at most 2m0s (max_age=120)"},
		{"max_age not passed reuses the session", time.Minute, url.Values{"max_age": {"120"}}, "callback", ""},
		{"login_hint for another user asks for the password", time.Second, url.Values{"login_hint": {"bob"}}, "password", "asked for bob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.mustRedeem(h.password(h.authorize(nil), "alice", "wonderland"))
			h.clock.advance(tt.after)
			r := h.authorize(tt.params)
			if r.step() != tt.wantPage {
				t.Fatalf("got %s, want %s", r.step(), tt.wantPage)
			}
			if tt.wantPage != "password" {
				return
			}
			if !strings.Contains(r.body, tt.wantWhy) {
				t.Errorf("the page does not explain %q", tt.wantWhy)
			}
			if u := tt.params.Get("login_hint"); u != "" && !strings.Contains(r.body, `value="`+u+`"`) {
				t.Errorf("login_hint %q not prefilled", u)
			}
			c := h.mustRedeem(h.password(r, "alice", "wonderland"))
			if c.AuthTime != h.clock.now().Unix() {
				t.Errorf("auth_time = %d, want the re-authentication's %d", c.AuthTime, h.clock.now().Unix())
			}
		})
	}
}

func TestWrongPasswordIsRefused(t *testing.T) {
	h := newHarness(t)
	page := h.authorize(nil)
	for _, tt := range []struct{ user, pw string }{{"alice", "builder"}, {"mallory", "wonderland"}, {"alice", ""}} {
		r := h.post(page.id, url.Values{"step": {"password"}, "username": {tt.user}, "password": {tt.pw}})
		if r.status != http.StatusForbidden || r.step() != "password" || !strings.Contains(r.body, "Wrong username or password") {
			t.Fatalf("%s/%q: %d %s", tt.user, tt.pw, r.status, r.step())
		}
	}
	if r := h.get(h.srv.URL + "/login?id=" + page.id); r.StatusCode != http.StatusOK {
		t.Fatalf("login page after failures: %d", r.StatusCode)
	}
	h.mustRedeem(h.password(page, "alice", "wonderland"))
}

func TestWrongCodeIsRefused(t *testing.T) {
	h := newHarness(t)
	page := h.password(h.authorize(url.Values{"acr_values": {ACRMFA}}), "alice", "wonderland")
	good := h.lastCode()
	bad := "000000"
	if good == bad {
		bad = "111111"
	}
	r := h.otp(page, bad)
	if r.status != http.StatusForbidden || r.step() != "otp" {
		t.Fatalf("wrong code: %d %s", r.status, r.step())
	}
	if n := h.codesSent(); n != 1 {
		t.Errorf("%d codes sent; a wrong code must not send another", n)
	}
	if c := h.mustRedeem(h.otp(page, good)); c.ACR != ACRMFA {
		t.Fatalf("claims = %+v", c)
	}
}

func TestExpiredCodeIsRefusedAndReplaced(t *testing.T) {
	h := newHarness(t)
	page := h.password(h.authorize(url.Values{"acr_values": {ACRMFA}}), "alice", "wonderland")
	old := h.lastCode()
	h.clock.advance(CodeLifetime + time.Second)
	if r := h.otp(page, old); r.status != http.StatusForbidden {
		t.Fatalf("expired code: %d %s", r.status, r.step())
	}
	h.get(h.srv.URL + "/login?id=" + page.id).Body.Close() // showing the page again sends a new code
	if h.codesSent() != 2 {
		t.Fatalf("%d codes sent, want a replacement", h.codesSent())
	}
	h.mustRedeem(h.otp(page, h.lastCode()))
}

func TestTooManyFailuresEndTheRequestWithAccessDenied(t *testing.T) {
	h := newHarness(t)
	page := h.authorize(nil)
	var r result
	for i := range maxFailures {
		r = h.post(page.id, url.Values{"step": {"password"}, "username": {"alice"}, "password": {"guess"}})
		// The user is warned before the attempt that ends the sign-in.
		if last := i == maxFailures-2; last != strings.Contains(r.body, "One attempt left") {
			t.Errorf("after %d failures the page warns of the last attempt: %v", i+1, !last)
		}
	}
	// The reason is said here, where it is known; the link back to the site
	// carries access_denied.
	m := regexp.MustCompile(`id="back" href="([^"]+)"`).FindStringSubmatch(r.body)
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "Too many failed attempts") || m == nil {
		t.Fatalf("after %d failures: %d %.400s", maxFailures, r.status, r.body)
	}
	back, err := url.Parse(html.UnescapeString(m[1]))
	if err != nil || !strings.HasPrefix(back.String(), testRedirect) || back.Query().Get("error") != "access_denied" || back.Query().Get("state") != "state-123" {
		t.Fatalf("back link %q: %v", m[1], err)
	}
	if r := h.password(h.authorize(nil), "alice", "wonderland"); r.callback.Get("code") == "" {
		t.Fatal("a new request after the lockout did not work")
	}
}

func TestPKCEWithS256IsRequired(t *testing.T) {
	h := newHarness(t)
	for name, params := range map[string]url.Values{
		"without PKCE":       {"code_challenge": nil, "code_challenge_method": nil},
		"with plain":         {"code_challenge": {testVerifier}, "code_challenge_method": {"plain"}},
		"without the method": {"code_challenge_method": nil},
	} {
		r := h.authorize(params)
		if r.callback == nil || r.callback.Get("error") != "invalid_request" {
			t.Errorf("%s: %d %s %v", name, r.status, r.step(), r.callback)
		}
	}
	if _, status := h.redeem(h.password(h.authorize(nil), "alice", "wonderland"), "a-different-verifier-that-is-long-enough-0123456789abc"); status != http.StatusBadRequest {
		t.Errorf("a wrong code_verifier got %d", status)
	}
}

func TestPromptNoneWithoutSessionAnswersLoginRequired(t *testing.T) {
	h := newHarness(t)
	r := h.authorize(url.Values{"prompt": {"none"}})
	if r.callback == nil || r.callback.Get("error") != "login_required" {
		t.Fatalf("prompt=none: %d %s %v", r.status, r.step(), r.callback)
	}
}

func TestACodeWorksOnce(t *testing.T) {
	h := newHarness(t)
	r := h.password(h.authorize(nil), "alice", "wonderland")
	h.mustRedeem(r)
	if _, status := h.redeem(r, testVerifier); status == http.StatusOK {
		t.Fatal("a code was redeemed twice")
	}
}

func TestDiscoveryAdvertisesOnlyWhatIsHonoured(t *testing.T) {
	h := newHarness(t)
	resp := h.get(h.srv.URL + "/.well-known/openid-configuration")
	defer resp.Body.Close()
	var d map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		t.Fatal(err)
	}
	if d["issuer"] != h.srv.URL {
		t.Errorf("issuer = %v", d["issuer"])
	}
	if m, _ := d["code_challenge_methods_supported"].([]any); !slices.Contains(m, any("S256")) {
		t.Errorf("code_challenge_methods_supported = %v", m)
	}
	if v, ok := d["claims_parameter_supported"]; ok && v != false {
		t.Errorf("claims_parameter_supported = %v, but the claims parameter is ignored", v)
	}
}

func TestEndSessionForgetsTheSSOSession(t *testing.T) {
	h := newHarness(t)
	h.mustRedeem(h.password(h.authorize(nil), "alice", "wonderland"))
	h.get(h.srv.URL + "/end_session").Body.Close()
	if r := h.authorize(nil); r.step() != "password" {
		t.Fatalf("after end_session: %s", r.step())
	}
}

func TestCrossOriginFormPostIsRefused(t *testing.T) {
	h := newHarness(t)
	page := h.authorize(nil)
	form := url.Values{"id": {page.id}, "step": {"password"}, "username": {"alice"}, "password": {"wonderland"}}
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.test")
	resp, err := h.browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin post: %d", resp.StatusCode)
	}
}
