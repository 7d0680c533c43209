package stepup

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
)

func TestAuthenticateHeaderFollowsRFC9470(t *testing.T) {
	five := 5 * time.Minute
	req := decision.NewRequirement("admin", []string{"urn:otp", "urn:webauthn"}, nil, &five, nil)
	got := authenticateHeader(errInsufficientAuth, "a stronger authentication is required", req)
	want := `Bearer error="insufficient_user_authentication", error_description="a stronger authentication is required", acr_values="urn:otp urn:webauthn", max_age=300`
	if got != want {
		t.Fatalf("header\n got %s\nwant %s", got, want)
	}
}

func TestAuthenticateHeaderCannotBeBrokenOutOf(t *testing.T) {
	got := authenticateHeader("x\"y", "bad \"quote\" \\ and\r\nnewline\x00", decision.NewRequirement("r", nil, nil, nil, nil))
	want := `Bearer error="xy", error_description="bad quote  andnewline"`
	if got != want {
		t.Fatalf("header\n got %q\nwant %q", got, want)
	}
}

func TestOnlyBrowserNavigationsAreRedirected(t *testing.T) {
	cases := []struct {
		name    string
		method  string
		headers map[string]string
		want    bool
	}{
		{"page load", "GET", map[string]string{"Accept": "text/html,application/xhtml+xml"}, true},
		{"fetch metadata navigate", "GET", map[string]string{"Sec-Fetch-Mode": "navigate", "Accept": "*/*"}, true},
		{"fetch metadata cors", "GET", map[string]string{"Sec-Fetch-Mode": "cors", "Accept": "text/html"}, false},
		{"xhr", "GET", map[string]string{"X-Requested-With": "XMLHttpRequest", "Accept": "text/html"}, false},
		{"json client", "GET", map[string]string{"Accept": "application/json"}, false},
		{"no accept", "GET", nil, false},
		{"form post", "POST", map[string]string{"Sec-Fetch-Mode": "navigate", "Accept": "text/html"}, false},
		{"head", "HEAD", map[string]string{"Accept": "text/html"}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "https://app.example/admin", nil)
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			if got := isNavigation(r); got != tc.want {
				t.Fatalf("isNavigation = %v, want %v", got, tc.want)
			}
		})
	}
}
