package stepup

import (
	"net/http"
	"testing"
)

func TestCookieValueFindsTheNamedCookieOnly(t *testing.T) {
	h := http.Header{"Cookie": {"a=1; __Host-stepup=abc; b=2", "c=3"}}
	if v, ok := cookieValue(h, "__Host-stepup"); !ok || v != "abc" {
		t.Fatalf("cookieValue = %q, %v", v, ok)
	}
	if v, ok := cookieValue(h, "c"); !ok || v != "3" {
		t.Fatalf("cookie from a second header line = %q, %v", v, ok)
	}
	if _, ok := cookieValue(h, "stepup"); ok {
		t.Fatal("matched a cookie by suffix")
	}
}

func TestRemoveCookiesDropsOnlyOurs(t *testing.T) {
	h := http.Header{"Cookie": {"a=1; __Host-stepup=abc; b=2", "__Secure-stepup_flow_x=1"}}
	removeCookies(h, func(n string) bool { return n == "__Host-stepup" || n == "__Secure-stepup_flow_x" })
	if got := h.Get("Cookie"); got != "a=1; b=2" {
		t.Fatalf("Cookie = %q", got)
	}
	only := http.Header{"Cookie": {"__Host-stepup=abc"}}
	removeCookies(only, func(n string) bool { return n == "__Host-stepup" })
	if _, ok := only["Cookie"]; ok {
		t.Fatal("an emptied Cookie header was left behind")
	}
}
