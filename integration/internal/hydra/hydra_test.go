package hydra

import (
	"net/url"
	"slices"
	"testing"
	"time"
)

// startWithClient starts Hydra and registers one confidential client.
func startWithClient(t *testing.T) (*Server, Client) {
	t.Helper()
	srv := Start(t, Options{})
	c := srv.CreateClient(t, Client{
		ID:           "rp",
		Secret:       "rp-secret",
		RedirectURIs: []string{"http://127.0.0.1:1/callback"},
		Scopes:       []string{"openid", "profile", "offline_access"},
		Audience:     []string{"https://api.example.test"},
	})
	return srv, c
}

// claimStrings turns a JSON array claim into []string.
func claimStrings(t *testing.T, v any) []string {
	t.Helper()
	arr, ok := v.([]any)
	if !ok {
		t.Fatalf("claim %v (%T) is not an array", v, v)
	}
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		s, ok := x.(string)
		if !ok {
			t.Fatalf("claim element %v (%T) is not a string", x, x)
		}
		out = append(out, s)
	}
	return out
}

// claimTime turns a NumericDate claim into a time.
func claimTime(t *testing.T, v any) time.Time {
	t.Helper()
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("claim %v (%T) is not a number", v, v)
	}
	return time.Unix(int64(f), 0)
}

func TestStepUpClaimsInTokens(t *testing.T) {
	t.Parallel()
	srv, c := startWithClient(t)
	srv.OnLogin(func(req LoginRequest) LoginDecision {
		return LoginDecision{Subject: "bob", ACR: "urn:stepup:mfa", AMR: []string{"pwd", "otp"}}
	})

	verifier, challenge := PKCE()
	before := time.Now().Add(-time.Second)
	params := url.Values{
		"nonce":                 {"n-0S6_WzA2Mj"},
		"acr_values":            {"urn:stepup:mfa urn:stepup:pwd"},
		"max_age":               {"300"},
		"prompt":                {"login"},
		"login_hint":            {"bob@example.test"},
		"code_challenge":        {challenge},
		"code_challenge_method": {"S256"},
		"audience":              {"https://api.example.test"},
	}
	code := srv.CodeFlow(t, c, params)
	tok := srv.Exchange(t, c, code, verifier)
	after := time.Now()

	// What the relying party sent reached the login app.
	reqs := srv.LoginRequests()
	if len(reqs) != 1 {
		t.Fatalf("saw %d login requests, want 1", len(reqs))
	}
	lr := reqs[0]
	if want := []string{"urn:stepup:mfa", "urn:stepup:pwd"}; !slices.Equal(lr.ACRValues, want) {
		t.Errorf("login acr_values = %q, want %q", lr.ACRValues, want)
	}
	if lr.MaxAge != "300" || lr.Prompt != "login" || lr.LoginHint != "bob@example.test" {
		t.Errorf("login max_age=%q prompt=%q login_hint=%q", lr.MaxAge, lr.Prompt, lr.LoginHint)
	}
	if lr.Query.Get("code_challenge_method") != "S256" || lr.Query.Get("nonce") == "" || lr.Query.Get("state") == "" {
		t.Errorf("login request_url query lacks PKCE/nonce/state: %v", lr.Query)
	}
	if lr.Skip || lr.ClientID != "rp" {
		t.Errorf("login skip=%v client=%q", lr.Skip, lr.ClientID)
	}

	// ID token: Hydra's own acr/amr/auth_time plus our nonce.
	_, id := DecodeJWT(t, tok.IDToken)
	if id["sub"] != "bob" || id["acr"] != "urn:stepup:mfa" || id["nonce"] != "n-0S6_WzA2Mj" || id["iss"] != srv.Issuer() {
		t.Errorf("ID token claims = %v", id)
	}
	if amr := claimStrings(t, id["amr"]); !slices.Equal(amr, []string{"pwd", "otp"}) {
		t.Errorf("ID token amr = %q", amr)
	}
	authTime := claimTime(t, id["auth_time"])
	if authTime.Before(before) || authTime.After(after) {
		t.Errorf("ID token auth_time %v not within [%v, %v]", authTime, before, after)
	}

	// Access token: a JWT with the same values as top-level claims.
	_, at := DecodeJWT(t, tok.AccessToken)
	if at["sub"] != "bob" || at["acr"] != "urn:stepup:mfa" || at["client_id"] != "rp" {
		t.Errorf("access token claims = %v", at)
	}
	if amr := claimStrings(t, at["amr"]); !slices.Equal(amr, []string{"pwd", "otp"}) {
		t.Errorf("access token amr = %q", amr)
	}
	if got := claimTime(t, at["auth_time"]); !got.Equal(authTime) {
		t.Errorf("access token auth_time = %v, want ID token's %v", got, authTime)
	}
	if aud := claimStrings(t, at["aud"]); !slices.Contains(aud, "https://api.example.test") {
		t.Errorf("access token aud = %q", aud)
	}
	if _, mirrored := at["ext"]; mirrored {
		t.Errorf("access token also has ext claims: %v", at["ext"])
	}
	if tok.RefreshToken == "" {
		t.Error("no refresh token despite offline_access")
	}

	// Refreshed access tokens keep the claims.
	refreshed := srv.Refresh(t, c, tok.RefreshToken)
	if _, at2 := DecodeJWT(t, refreshed.AccessToken); at2["acr"] != "urn:stepup:mfa" || !claimTime(t, at2["auth_time"]).Equal(authTime) {
		t.Errorf("refreshed access token claims = %v", at2)
	}
}

func TestDefaultLoginAndRememberedSession(t *testing.T) {
	t.Parallel()
	srv, c := startWithClient(t)
	remember := func(req LoginRequest) LoginDecision {
		d := DefaultLogin(req)
		d.Remember = true
		return d
	}
	srv.OnLogin(remember)
	first := srv.Exchange(t, c, srv.CodeFlow(t, c, nil), "")
	_, id1 := DecodeJWT(t, first.IDToken)
	if id1["sub"] != DefaultSubject || id1["acr"] != DefaultACR {
		t.Fatalf("default login ID token = %v", id1)
	}

	time.Sleep(1100 * time.Millisecond) // so a fresh login would get a later auth_time
	second := srv.Exchange(t, c, srv.CodeFlow(t, c, nil), "")
	last, _ := srv.LastLoginRequest()
	if !last.Skip || last.Subject != DefaultSubject || last.Previous == nil || last.Previous.ACR != DefaultACR {
		t.Fatalf("second login not skipped with remembered session: %+v", last)
	}
	_, id2 := DecodeJWT(t, second.IDToken)
	_, at2 := DecodeJWT(t, second.AccessToken)
	if id2["auth_time"] != id1["auth_time"] || at2["auth_time"] != id1["auth_time"] {
		t.Errorf("remembered login auth_time: id %v, access %v, want original %v", id2["auth_time"], at2["auth_time"], id1["auth_time"])
	}

	// prompt=login forces a real login despite the session.
	srv.Exchange(t, c, srv.CodeFlow(t, c, url.Values{"prompt": {"login"}}), "")
	if last, _ := srv.LastLoginRequest(); last.Skip {
		t.Errorf("prompt=login was skipped: %+v", last)
	}
}

func TestRejectedLogin(t *testing.T) {
	t.Parallel()
	srv, c := startWithClient(t)
	srv.OnLogin(func(LoginRequest) LoginDecision {
		return LoginDecision{Reject: "access_denied", RejectDescription: "user said no"}
	})
	got := srv.Authorize(t, c, nil)
	if got.Get("error") != "access_denied" || got.Get("code") != "" {
		t.Errorf("rejected login redirected with %v", got)
	}
}

func TestRotateSigningKey(t *testing.T) {
	t.Parallel()
	srv, c := startWithClient(t)
	seeded := srv.SigningKeyID()
	old := srv.Exchange(t, c, srv.CodeFlow(t, c, nil), "")
	oldID, _ := DecodeJWT(t, old.IDToken)
	oldAT, _ := DecodeJWT(t, old.AccessToken)
	if oldID["kid"] != seeded || oldAT["kid"] != seeded {
		t.Errorf("before rotation: ID token kid %v, access token kid %v, want seeded %s", oldID["kid"], oldAT["kid"], seeded)
	}

	kid := srv.RotateSigningKey(t)
	if kid == seeded || srv.SigningKeyID() != kid {
		t.Fatalf("rotation returned kid %s (seeded %s, current %s)", kid, seeded, srv.SigningKeyID())
	}

	fresh := srv.Exchange(t, c, srv.CodeFlow(t, c, nil), "")
	newID, _ := DecodeJWT(t, fresh.IDToken)
	newAT, _ := DecodeJWT(t, fresh.AccessToken)
	if newID["kid"] != kid || newAT["kid"] != kid {
		t.Errorf("after rotation: ID token kid %v, access token kid %v, want %s", newID["kid"], newAT["kid"], kid)
	}
	// Old and new keys are both published, and nothing else (Hydra did not
	// generate keys of its own).
	published := srv.PublishedKeyIDs(t)
	slices.Sort(published)
	published = slices.Compact(published)
	want := []string{seeded, kid}
	slices.Sort(want)
	if !slices.Equal(published, want) {
		t.Errorf("JWKS kids = %q, want %q", published, want)
	}
}

func TestStopAndRestart(t *testing.T) {
	t.Parallel()
	srv, c := startWithClient(t)
	before := srv.Exchange(t, c, srv.CodeFlow(t, c, nil), "")
	srv.Stop()
	if _, err := srv.admin.Get(srv.PublicURL() + "/health/ready"); err == nil {
		t.Fatal("hydra still answers after Stop")
	}
	srv.Restart()
	// The client was re-registered; keys are new.
	after := srv.Exchange(t, c, srv.CodeFlow(t, c, nil), "")
	h1, _ := DecodeJWT(t, before.IDToken)
	h2, _ := DecodeJWT(t, after.IDToken)
	if h1["kid"] == h2["kid"] {
		t.Errorf("signing key survived restart: %v", h1["kid"])
	}
}
