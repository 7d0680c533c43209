package backend

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func request(method, target, body string, headers ...string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return r
}

var alice = []string{HeaderUser, "alice", HeaderACR, "urn:stepup:pwd", HeaderAMR, "pwd", HeaderAuthTime, "1767348000"}

func TestBackend(t *testing.T) {
	h := New(Config{MFA: "urn:stepup:mfa", TransferMaxAge: "2m", SettingsMaxAge: "5m",
		Now: func() time.Time { return time.Unix(1767348030, 0) }})
	json := []string{"Content-Type", "application/json"}
	tests := []struct {
		name       string
		req        *http.Request
		wantStatus int
		wantBody   string
	}{
		{"the home page is public", request("GET", "/", ""), 200, "Step-up authentication"},
		{"a page without the edge's headers is refused", request("GET", "/admin", ""), 403, "reached through Caddy"},
		{"the admin page shows who the edge says", request("GET", "/admin", "", alice...), 200, "Signed in as <b>alice</b>"},
		{"the transfer page shows the sign-in's age", request("GET", "/transfer", "", alice...), 200, ">30s</span> ago"},
		{"/api/me answers the identity as JSON", request("GET", "/api/me", "", alice...), 200, `"auth_time":1767348000`},
		{"a transfer moves money", request("POST", "/transfer", `{"to":"bob","amount":"25"}`, append(alice, json...)...), 200, "Sent 25.00 to bob"},
		{"a transfer sent as a form is refused", request("POST", "/transfer", "to=bob&amount=25", append(alice, "Content-Type", "application/x-www-form-urlencoded")...), 415, "application/json"},
		{"a transfer of nothing is refused", request("POST", "/transfer", `{"to":"bob","amount":"0"}`, append(alice, json...)...), 400, "amount"},
		{"settings are saved", request("POST", "/settings", `{"email":"a@example.test","daily_limit":"50"}`, append(alice, json...)...), 200, "Saved"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, tt.req)
			if w.Code != tt.wantStatus || !strings.Contains(w.Body.String(), tt.wantBody) {
				t.Fatalf("%d %q, want %d containing %q", w.Code, w.Body.String(), tt.wantStatus, tt.wantBody)
			}
		})
	}
}
