package session

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
)

func testCookies(loopbackDev bool) *Cookies {
	return NewCookies(Names{Session: "stepup", FlowPrefix: "stepup_flow_", FlowNext: "stepup_flow_next", Device: "stepup_device"}, loopbackDev)
}

func TestOurCookiesArePrefixedSecureHttpOnlyAndLaxButOnPlainLoopbackDevelopment(t *testing.T) {
	https := httptest.NewRequest(http.MethodGet, "https://app.example/", nil)
	https.TLS = &tls.ConnectionState{}
	plainLoopback := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080/", nil)
	plainSite := httptest.NewRequest(http.MethodGet, "http://app.example/", nil)
	for _, tc := range []struct {
		name        string
		loopbackDev bool
		r           *http.Request
		session     string
		secure      bool
	}{
		{"https", true, https, "__Host-stepup", true},
		{"plain loopback, development option on", true, plainLoopback, "stepup", false},
		{"plain loopback, option off", false, plainLoopback, "__Host-stepup", true},
		{"plain HTTP to another host, option on", true, plainSite, "__Host-stepup", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCookies(tc.loopbackDev)
			if got := c.For(tc.r).Session; got != tc.session {
				t.Fatalf("session cookie named %q, want %q", got, tc.session)
			}
			rec := httptest.NewRecorder()
			c.Set(rec, tc.r, &http.Cookie{Name: c.For(tc.r).Device, Value: "v", Path: "/"})
			set := rec.Result().Cookies()
			if len(set) != 1 || set[0].Secure != tc.secure || !set[0].HttpOnly || set[0].SameSite != http.SameSiteLaxMode {
				t.Fatalf("set %+v; want Secure %v, HttpOnly, SameSite=Lax", set, tc.secure)
			}
		})
	}
}

func TestOnlyOurCookiesAreOurs(t *testing.T) {
	c := testCookies(false)
	for name, want := range map[string]bool{
		"__Host-stepup": true, "__Host-stepup_device": true, "__Secure-stepup_flow_3": true, "__Host-stepup_flow_next": true,
		"stepup": false, "stepup_flow_3": false, "theme": false, "__Host-other": false,
	} {
		if got := c.ours(name); got != want {
			t.Errorf("ours(%q) = %v, want %v (loopback development off)", name, got, want)
		}
	}
	if !testCookies(true).ours("stepup_flow_3") {
		t.Error("an unprefixed flow cookie is not ours with loopback development on")
	}
	h := http.Header{"Cookie": {"theme=dark; __Host-stepup=x; __Secure-stepup_flow_1=y; lang=en"}}
	c.Drop(h)
	if got := h.Get("Cookie"); got != "theme=dark; lang=en" {
		t.Fatalf("after Drop: %q", got)
	}
}
