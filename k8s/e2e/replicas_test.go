package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/caddy-stepup/caddy-stepup/k8s/translate"
)

// TestTwoReplicasSharingStorageAcceptEachOthersSessions logs in through
// replica A, completes the login at replica B, and uses the session at both;
// a third Caddy with its own storage must not accept it. (The same property
// with a real OP and browser: integration/core_test.go,
// TestTwoCaddiesSharingStorageAcceptEachOthersSessions.)
func TestTwoReplicasSharingStorageAcceptEachOthersSessions(t *testing.T) {
	f := serve(t)

	// A browser navigation to the protected path is sent to the OP.
	r := request(t, f.a, http.MethodGet, "localhost", "/admin/users", browser)
	if r.status != http.StatusFound {
		t.Fatalf("navigation to /admin/users at A: %d %q, want 302 to the OP", r.status, r.body)
	}
	loc, err := url.Parse(r.header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), f.op.Issuer()+"/authorize?") {
		t.Fatalf("redirect to %q, want the OP's authorization endpoint", r.header.Get("Location"))
	}
	q := loc.Query()
	callback, _, _ := translate.Endpoints(testNS, "shop")
	if q.Get("redirect_uri") != "http://localhost"+callback || q.Get("acr_values") != "mfa" || q.Get("max_age") != "300" || q.Get("client_id") != clientID {
		t.Fatalf("authorization request %v does not carry the Ingress's rule and callback", q)
	}
	// Every flow cookie A set, as a browser sends them to the callback: the
	// attempt's own (named after its slot) and the slot counter.
	flow := allCookies(r.header, "stepup_flow_")
	if flow == "" {
		t.Fatalf("A set no flow cookie: %v", r.header.Values("Set-Cookie"))
	}

	// The user logs in at the OP; the browser comes back through replica B.
	code := login(t, loc)
	cb := callback + "?" + url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
	r = request(t, f.b, http.MethodGet, "localhost", cb, http.Header{"Cookie": {flow}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/admin/users" {
		t.Fatalf("callback at B: %d %q %q, want 303 back to /admin/users (B must open A's flow cookie)", r.status, r.header.Get("Location"), r.body)
	}
	session := cookiesNamed(r.header, "stepup")
	if session == "" {
		t.Fatalf("B set no session cookie: %v", r.header.Values("Set-Cookie"))
	}

	for _, p := range []struct {
		name string
		proc *caddyProc
	}{{"A", f.a}, {"B", f.b}} {
		r := request(t, p.proc, http.MethodGet, "localhost", "/admin/users", http.Header{"Cookie": {session}, "Accept": {"application/json"}})
		if r.status != http.StatusOK || r.body != "upstream=web user=alice" {
			t.Errorf("replica %s with B's session: %d %q, want 200 for alice", p.name, r.status, r.body)
		}
	}
	r = request(t, f.c, http.MethodGet, "localhost", "/admin/users", http.Header{"Cookie": {session}, "Accept": {"application/json"}})
	if r.status != http.StatusUnauthorized {
		t.Errorf("a Caddy with other storage accepted the session: %d %q, want 401", r.status, r.body)
	}
}

// allCookies returns the "name=value" pairs of every non-empty Set-Cookie
// whose name starts with prefix, joined as a Cookie header.
func allCookies(h http.Header, prefix string) string {
	var out []string
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if strings.HasPrefix(c.Name, prefix) && c.Value != "" {
			out = append(out, c.Name+"="+c.Value)
		}
	}
	return strings.Join(out, "; ")
}

// cookiesNamed returns "name=value" of the Set-Cookie whose name is exactly
// name, or (for a name ending in _) starts with it.
func cookiesNamed(h http.Header, name string) string {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == name || (strings.HasSuffix(name, "_") && strings.HasPrefix(c.Name, name)) {
			if c.Value != "" {
				return c.Name + "=" + c.Value
			}
		}
	}
	return ""
}
