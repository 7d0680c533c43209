package stepup

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestAbandonedStepUpsOfASubjectGet429WithRetryAfter(t *testing.T) {
	idp := fakeDiscovery(t, true)
	th := newTestHandler(t, idp.URL, func(h *Handler) {
		h.Regulation = &RegulationConfig{MaxAttempts: 3}
	})
	cookie := th.cookieFor(t, th.session("urn:pwd"))
	before := testutil.ToFloat64(regulationRefusals.WithLabelValues("subject", "login"))
	for i := range 3 {
		// The weak session needs urn:otp: each navigation starts a login
		// that is never completed.
		out := th.serve(t, request("GET", "http://127.0.0.1/admin", "Accept", "text/html", "Cookie", cookie))
		if out.rec.Code != http.StatusFound {
			t.Fatalf("attempt %d: status %d, want 302", i+1, out.rec.Code)
		}
	}
	out := th.serve(t, request("GET", "http://127.0.0.1/admin", "Accept", "text/html", "Cookie", cookie))
	if out.rec.Code != http.StatusTooManyRequests {
		t.Fatalf("4th open attempt: status %d, want 429", out.rec.Code)
	}
	if s, err := strconv.Atoi(out.rec.Header().Get("Retry-After")); err != nil || s < 1 || s > 15*60 {
		t.Errorf("Retry-After %q, want the seconds left in the 15m window", out.rec.Header().Get("Retry-After"))
	}
	if got := testutil.ToFloat64(regulationRefusals.WithLabelValues("subject", "login")) - before; got != 1 {
		t.Errorf("regulated_attempts_total{by=subject,at=login} rose by %v, want 1", got)
	}
	if !strings.Contains(out.rec.Body.String(), "Too many") {
		t.Errorf("body %q", out.rec.Body.String())
	}
	// An API client of the same subject following its step_up_url is
	// refused too, in JSON.
	out = th.serve(t, request("GET", "http://127.0.0.1/.stepup/login?return_to=%2Fadmin&rule=admin", "Cookie", cookie))
	if out.rec.Code != http.StatusTooManyRequests || !strings.Contains(out.rec.Body.String(), `"too_many_attempts"`) {
		t.Errorf("API client at the step_up_url: %d %q", out.rec.Code, out.rec.Body.String())
	}
}

func TestStrayCallbacksFromOneAddressGet429(t *testing.T) {
	idp := fakeDiscovery(t, true)
	th := newTestHandler(t, idp.URL, func(h *Handler) {
		h.Regulation = &RegulationConfig{IPMaxAttempts: 4}
	})
	callback := func(remote string) int {
		r := request("GET", "http://127.0.0.1/.stepup/callback?state=forged&code=x", "Accept", "text/html")
		r.RemoteAddr = remote
		return th.serve(t, r).rec.Code
	}
	for i := range 4 {
		if code := callback("192.0.2.1:1000"); code != http.StatusBadRequest {
			t.Fatalf("stray callback %d: status %d, want 400", i+1, code)
		}
	}
	// The 5th is counted (5 > 4); from then on the address is refused
	// before any code is redeemed.
	callback("192.0.2.1:1000")
	if code := callback("192.0.2.1:1000"); code != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429", code)
	}
	r := request("GET", "http://127.0.0.1/admin", "Accept", "text/html")
	r.RemoteAddr = "192.0.2.1:1000"
	if code := th.serve(t, r).rec.Code; code != http.StatusTooManyRequests {
		t.Errorf("a login from the address: status %d, want 429", code)
	}
	if code := callback("192.0.2.2:1000"); code != http.StatusBadRequest {
		t.Errorf("another address: status %d, want 400", code)
	}
}

func TestWithoutARegulationBlockNothingIsRegulated(t *testing.T) {
	idp := fakeDiscovery(t, true)
	th := newTestHandler(t, idp.URL, nil)
	cookie := th.cookieFor(t, th.session("urn:pwd"))
	for i := range 30 {
		out := th.serve(t, request("GET", "http://127.0.0.1/admin", "Accept", "text/html", "Cookie", cookie))
		if out.rec.Code != http.StatusFound {
			t.Fatalf("attempt %d: status %d", i+1, out.rec.Code)
		}
	}
}
