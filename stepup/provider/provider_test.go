package provider

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/testclock"
)

// testOP serves a discovery document and a token endpoint answering with
// token; it counts discovery fetches.
type testOP struct {
	*httptest.Server
	claimsParam bool
	authorize   string // authorization_endpoint path and query
	token       func(w http.ResponseWriter)
	discoveries atomic.Int32
}

func startTestOP(t *testing.T, op *testOP) *testOP {
	op.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			op.discoveries.Add(1)
			_ = json.NewEncoder(w).Encode(map[string]any{
				"issuer": op.URL, "authorization_endpoint": op.URL + op.authorize,
				"token_endpoint": op.URL + "/token", "jwks_uri": op.URL + "/jwks",
				"claims_parameter_supported": op.claimsParam,
			})
		case "/token":
			op.token(w)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(op.Close)
	return op
}

func (op *testOP) key() Key { return Key{Issuer: op.URL, ClientID: "edge", LoopbackHTTP: true} }

func TestAuthorizationRequestsCarryTheirProtectionsWhateverTheExtraParameters(t *testing.T) {
	for _, tc := range []struct {
		name        string
		claimsParam bool
		authorize   string
	}{
		{"claims parameter supported", true, "/authorize"},
		{"no claims parameter, endpoint with a query", false, "/authorize?tenant=a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := startTestOP(t, &testOP{claimsParam: tc.claimsParam, authorize: tc.authorize})
			d, err := New(op.key(), Options{}).Discover(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			raw := d.AuthorizeURL(AuthRequest{
				RedirectURI: "https://app.example/cb", Scopes: []string{"openid", "email"},
				State: "st", Nonce: "no", Verifier: "ve", ACRValues: "urn:otp", EssentialACR: []string{"urn:otp"},
				MaxAge: "300", PromptLogin: true,
				Extra: map[string]string{"state": "forged", "ui_locales": "de"},
			})
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			want := map[string]string{
				"response_type": "code", "client_id": "edge", "redirect_uri": "https://app.example/cb",
				"scope": "openid email", "state": "st", "nonce": "no", "code_challenge_method": "S256",
				"acr_values": "urn:otp", "max_age": "300", "prompt": "login", "ui_locales": "de",
			}
			for k, v := range want {
				if q.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, q.Get(k), v)
				}
			}
			if q.Get("code_challenge") == "" || q.Has("login_hint") {
				t.Errorf("code_challenge %q, login_hint %q", q.Get("code_challenge"), q.Get("login_hint"))
			}
			if q.Has("claims") != tc.claimsParam {
				t.Errorf("claims sent: %v, but the OP supports the parameter: %v", q.Has("claims"), tc.claimsParam)
			}
			if tc.authorize != "/authorize" && q.Get("tenant") != "a" {
				t.Errorf("the endpoint's own query was lost: %s", raw)
			}
		})
	}
}

func TestExchangeTellsARefusedCodeFromAnOutage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter)
		check  func(t *testing.T, err error)
	}{
		{"refused", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
		}, func(t *testing.T, err error) {
			var refused *TokenRefused
			if !errors.As(err, &refused) || refused.Code != "invalid_grant" {
				t.Fatalf("got %v, want the refusal with its code", err)
			}
		}},
		{"failing", func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) }, func(t *testing.T, err error) {
			var refused *TokenRefused
			if err == nil || errors.As(err, &refused) {
				t.Fatalf("got %v, want an outage, not a verdict on the code", err)
			}
		}},
		{"without an ID token", func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"access_token":"a","token_type":"Bearer"}`))
		}, func(t *testing.T, err error) {
			if !errors.Is(err, ErrNoIDToken) {
				t.Fatalf("got %v, want ErrNoIDToken", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := startTestOP(t, &testOP{authorize: "/authorize", token: tc.answer})
			_, err := New(op.key(), Options{}).Exchange(context.Background(), "code", "verifier", "https://app.example/cb", "secret")
			tc.check(t, err)
		})
	}
}

func TestConfigsNamingTheSameProviderShareOneClientAndOneDiscovery(t *testing.T) {
	op := startTestOP(t, &testOP{authorize: "/authorize"})
	k := op.key()
	a, err := Load(k, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Load(k, Options{})
	strict, _ := Load(Key{Issuer: k.Issuer, ClientID: k.ClientID}, Options{})
	t.Cleanup(func() { _, _, _ = Release(k), Release(k), Release(strict.key) })
	if a != b || a == strict {
		t.Fatal("the same key must share a client, and insecure_loopback_http must not")
	}
	for _, c := range []*Client{a, b} {
		if _, err := c.Discover(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := op.discoveries.Load(); n != 1 {
		t.Fatalf("%d discoveries for two configs, want 1", n)
	}
	if _, err := strict.Discover(context.Background()); err == nil {
		t.Fatal("plain-HTTP endpoints were accepted without insecure_loopback_http")
	}
}

// A back-channel call that fails marks the provider down at once: the next
// login is told to wait, without a probe of its own; once the backoff has
// passed, one probe finds it back.
func TestAFailedTokenCallStopsLoginsUntilAProbeFindsTheProviderBack(t *testing.T) {
	var failing atomic.Bool
	op := startTestOP(t, &testOP{authorize: "/authorize", token: func(w http.ResponseWriter) {
		if failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusBadRequest)
	}})
	c := testclock.New(time.Unix(1_800_000_000, 0))
	client := New(op.key(), Options{Now: c.Now})
	ctx := context.Background()
	if _, err := client.ForLogin(ctx); err != nil {
		t.Fatal(err)
	}
	failing.Store(true)
	if _, err := client.Exchange(ctx, "code", "verifier", "https://app.example/cb", ""); err == nil {
		t.Fatal("a failing token endpoint redeemed a code")
	}
	if _, err := client.ForLogin(ctx); err == nil {
		t.Fatal("a login right after the token endpoint failed was sent to the provider")
	} else if wait, down := IsUnavailable(err); !down || wait <= 0 {
		t.Fatalf("got %v, want *Unavailable with a wait", err)
	}
	if n := op.discoveries.Load(); n != 1 {
		t.Fatalf("%d discovery fetches, want 1: the failed call already said the provider is down", n)
	}
	c.Add(MaxBackoff)
	if _, err := client.ForLogin(ctx); err != nil {
		t.Fatalf("after the backoff, the probe should find the provider back: %v", err)
	}
	if n := op.discoveries.Load(); n != 2 {
		t.Fatalf("%d discovery fetches, want 2 (one probe)", n)
	}
}
