package stepup

import (
	"net/http"
	"strings"
	"testing"
)

// A browser that starts login after login (tabs left open, retries) holds
// at most maxFlows flow cookies: the slots are taken in turn, so each new
// attempt replaces the oldest one's cookie, and the callback's Cookie
// header stays bounded.
func TestFlowCookiesAreCappedAndTheOldestIsReplaced(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	jar := map[string]string{} // name → value, as a browser keeps them
	var states []string
	for range 3 * maxFlows {
		var cookie []string
		for name, value := range jar {
			if !strings.HasPrefix(name, flowCookiePrefix) || name == flowNextCookie {
				cookie = append(cookie, name+"="+value) // what a page (path /) sends
			}
		}
		out := th.serve(t, request("GET", "http://127.0.0.1/admin", "Accept", "text/html", "Cookie", strings.Join(cookie, "; ")))
		if out.rec.Code != http.StatusFound {
			t.Fatalf("login start: %d", out.rec.Code)
		}
		for _, c := range out.rec.Result().Cookies() {
			jar[c.Name] = c.Value
		}
		loc := out.rec.Header().Get("Location")
		states = append(states, loc[strings.Index(loc, "state=")+len("state="):][:44])
	}
	flows := 0
	for name := range jar {
		if strings.HasPrefix(name, flowCookiePrefix) && name != flowNextCookie {
			flows++
		}
	}
	if flows != maxFlows {
		t.Fatalf("%d flow cookies after %d logins, want %d", flows, len(states), maxFlows)
	}
	// The callback finds the latest maxFlows attempts and no older one.
	var callback []string
	for name, value := range jar {
		callback = append(callback, name+"="+value)
	}
	r := request("GET", "http://127.0.0.1/.stepup/callback", "Cookie", strings.Join(callback, "; "))
	for i, state := range states {
		_, err := th.readFlow(r.Context(), r, state)
		if latest := i >= len(states)-maxFlows; latest != (err == nil) {
			t.Errorf("attempt %d of %d: readFlow error %v", i+1, len(states), err)
		}
	}
}
