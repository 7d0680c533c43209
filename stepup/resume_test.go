package stepup

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestHoldDecision(t *testing.T) {
	th := newTestHandler(t, deadIssuer(t), nil)
	off := int64(0)
	thOff := newTestHandler(t, deadIssuer(t), func(h *Handler) { h.HoldMaxBody = &off })
	site := "http://127.0.0.1"
	cases := []struct {
		name    string
		method  string
		ctype   string
		headers []string
		want    bool
	}{
		{"same-origin navigation", "POST", "application/x-www-form-urlencoded", navSameOrigin, true},
		{"put", "PUT", "application/x-www-form-urlencoded", navSameOrigin, true},
		{"patch multipart", "PATCH", "multipart/form-data; boundary=x", navSameOrigin, true},
		{"get", "GET", "application/x-www-form-urlencoded", navSameOrigin, false},
		{"delete", "DELETE", "application/x-www-form-urlencoded", navSameOrigin, false},
		{"json body", "POST", "application/json", navSameOrigin, false},
		{"text body", "POST", "text/plain", navSameOrigin, false},
		{"cross-site", "POST", "application/x-www-form-urlencoded", []string{"Sec-Fetch-Mode", "navigate", "Sec-Fetch-Site", "cross-site"}, false},
		{"same-site is not same-origin", "POST", "application/x-www-form-urlencoded", []string{"Sec-Fetch-Mode", "navigate", "Sec-Fetch-Site", "same-site"}, false},
		{"fetch, not navigation", "POST", "application/x-www-form-urlencoded", []string{"Sec-Fetch-Mode", "cors", "Sec-Fetch-Site", "same-origin"}, false},
		{"no fetch metadata, origin matches", "POST", "application/x-www-form-urlencoded", []string{"Accept", "text/html", "Origin", site}, true},
		{"no fetch metadata, other origin", "POST", "application/x-www-form-urlencoded", []string{"Accept", "text/html", "Origin", "https://evil.example"}, false},
		{"no fetch metadata, no origin", "POST", "application/x-www-form-urlencoded", []string{"Accept", "text/html"}, false},
		{"no fetch metadata, not html", "POST", "application/x-www-form-urlencoded", []string{"Accept", "application/json", "Origin", site}, false},
		{"xhr", "POST", "application/x-www-form-urlencoded", []string{"Accept", "text/html", "Origin", site, "X-Requested-With", "XMLHttpRequest"}, false},
	}
	for _, c := range cases {
		r := formRequest(c.method, site+"/transfer", "a=1", c.headers...)
		r.Header.Set("Content-Type", c.ctype)
		if got := th.holdable(r); got != c.want {
			t.Errorf("%s: holdable = %v, want %v", c.name, got, c.want)
		}
		if thOff.holdable(r) {
			t.Errorf("%s: held with hold_max_body 0", c.name)
		}
	}
}

func TestHeldFormIsSentOnceAfterConfirmation(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	held, resumedN := testutil.ToFloat64(holdCounter().WithLabelValues("held")), testutil.ToFloat64(holdCounter().WithLabelValues("resumed"))
	body := "to=bob&amount=100&password=hunter2"
	id, hold := holdForm(t, th, body)
	cookies := hold + "; " + th.cookieFor(t, th.session("urn:pwd", "pwd"))

	token, page := confirmPageFor(t, th, id, cookies)
	for _, want := range []string{"/transfer", "POST", "<code>to</code>: bob", "<code>amount</code>: 100", "<code>password</code></li>"} {
		if !strings.Contains(page, want) {
			t.Errorf("confirmation page lacks %q", want)
		}
	}
	if strings.Contains(page, "hunter2") {
		t.Error("confirmation page shows a password field's value")
	}

	out := confirm(t, th, id, token, "send", cookies)
	if out.upstream == nil {
		t.Fatalf("confirmed form did not reach the upstream: %d %s", out.rec.Code, out.rec.Body)
	}
	got, _ := io.ReadAll(out.upstream.Body)
	if out.upstream.Method != "POST" || out.upstream.URL.Path != "/transfer" || string(got) != body ||
		out.upstream.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Fatalf("upstream got %s %s %q (%s), want the original form", out.upstream.Method, out.upstream.URL.Path, got, out.upstream.Header.Get("Content-Type"))
	}
	if u := out.upstream.Header.Get("X-User"); u != "alice" {
		t.Fatalf("upstream identity %q, want the new session's", u)
	}

	again := confirm(t, th, id, token, "send", cookies)
	if again.upstream != nil || again.rec.Code != http.StatusGone {
		t.Fatalf("second confirmation: %d, upstream reached %v; want 410 and nothing sent", again.rec.Code, again.upstream != nil)
	}
	if d := testutil.ToFloat64(holdCounter().WithLabelValues("held")) - held; d != 1 {
		t.Errorf("held_forms_total{result=held} grew by %v, want 1", d)
	}
	if d := testutil.ToFloat64(holdCounter().WithLabelValues("resumed")) - resumedN; d != 1 {
		t.Errorf("held_forms_total{result=resumed} grew by %v, want 1", d)
	}
}

// The hold cookie binds the browser to its held form; like our other
// cookies it is stepup's, and the resumed form must not carry it upstream.
func TestResumedFormCarriesNoneOfOurCookiesUpstream(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	id, hold := holdForm(t, th, "to=bob&amount=1")
	cookies := "app=1; " + hold + "; " + th.cookieFor(t, th.session("urn:pwd", "pwd"))
	token, _ := confirmPageFor(t, th, id, cookies)
	out := confirm(t, th, id, token, "send", cookies)
	if out.upstream == nil {
		t.Fatalf("confirmed form did not reach the upstream: %d %s", out.rec.Code, out.rec.Body)
	}
	if got := out.upstream.Header.Values("Cookie"); len(got) != 1 || got[0] != "app=1" {
		t.Fatalf("upstream Cookie %q, want only the site's own app=1", got)
	}
}

func TestHeldFormRefusals(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	alice := th.cookieFor(t, th.session("urn:pwd", "pwd"))

	t.Run("discard", func(t *testing.T) {
		discarded := testutil.ToFloat64(holdCounter().WithLabelValues("discarded"))
		defer func() {
			if d := testutil.ToFloat64(holdCounter().WithLabelValues("discarded")) - discarded; d != 1 {
				t.Errorf("held_forms_total{result=discarded} grew by %v, want 1", d)
			}
		}()
		id, hold := holdForm(t, th, "a=1")
		token, _ := confirmPageFor(t, th, id, hold+"; "+alice)
		if out := confirm(t, th, id, token, "discard", hold+"; "+alice); out.upstream != nil || out.rec.Code != http.StatusOK {
			t.Fatalf("discard: %d, upstream reached %v", out.rec.Code, out.upstream != nil)
		}
		if out := confirm(t, th, id, token, "send", hold+"; "+alice); out.upstream != nil || out.rec.Code != http.StatusGone {
			t.Fatalf("send after discard: %d, upstream reached %v", out.rec.Code, out.upstream != nil)
		}
	})
	refused := func(t *testing.T, out served, status int) {
		t.Helper()
		if out.upstream != nil || out.rec.Code != status {
			t.Fatalf("got %d (upstream reached %v), want %d and nothing sent", out.rec.Code, out.upstream != nil, status)
		}
	}
	t.Run("wrong token", func(t *testing.T) {
		id, hold := holdForm(t, th, "a=1")
		refused(t, confirm(t, th, id, randomToken(), "send", hold+"; "+alice), http.StatusForbidden)
	})
	t.Run("cross-site confirmation", func(t *testing.T) {
		id, hold := holdForm(t, th, "a=1")
		token, _ := confirmPageFor(t, th, id, hold+"; "+alice)
		refused(t, confirm(t, th, id, token, "send", hold+"; "+alice, "Sec-Fetch-Site", "cross-site"), http.StatusForbidden)
	})
	t.Run("other browser", func(t *testing.T) {
		id, hold := holdForm(t, th, "a=1")
		token, _ := confirmPageFor(t, th, id, hold+"; "+alice)
		refused(t, confirm(t, th, id, token, "send", strings.Split(hold, "=")[0]+"="+randomToken()+"; "+alice), http.StatusGone)
	})
	t.Run("no session", func(t *testing.T) {
		id, hold := holdForm(t, th, "a=1")
		token, _ := confirmPageFor(t, th, id, hold+"; "+alice)
		refused(t, confirm(t, th, id, token, "send", hold), http.StatusForbidden)
	})
	t.Run("expired", func(t *testing.T) {
		id, hold := holdForm(t, th, "a=1")
		token, _ := confirmPageFor(t, th, id, hold+"; "+alice)
		th.clock.Add(defaultHoldLifetime + time.Second)
		fresh := th.cookieFor(t, th.session("urn:pwd", "pwd"))
		refused(t, confirm(t, th, id, token, "send", hold+"; "+fresh), http.StatusGone)
	})
	t.Run("unknown id", func(t *testing.T) {
		refused(t, confirm(t, th, randomToken(), randomToken(), "send", alice), http.StatusGone)
		refused(t, confirm(t, th, "../../cookie_keys", randomToken(), "send", alice), http.StatusGone)
	})
}

func TestHeldFormKeepsTheSubject(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	old := th.session("urn:pwd", "pwd")
	old.AuthTime = th.clock.Now().Add(-time.Hour) // too old for /transfer
	r := formRequest("POST", "http://127.0.0.1/transfer", "a=1", append(navSameOrigin, "Cookie", th.cookieFor(t, old))...)
	out := th.serve(t, r)
	if out.rec.Code != http.StatusFound {
		t.Fatalf("stale session posting a form: %d", out.rec.Code)
	}
	var id, hold string
	for _, c := range out.rec.Result().Cookies() {
		if strings.HasPrefix(c.Name, holdCookieName+"_") {
			hold = c.Name + "=" + c.Value
		}
	}
	for _, k := range listHeld(t, th) {
		id = k
	}
	mallory := th.session("urn:pwd", "pwd")
	mallory.Subject = "mallory"
	out = th.serve(t, request("GET", "http://127.0.0.1"+defaultResumePath+"?id="+id, "Cookie", hold+"; "+th.cookieFor(t, mallory)))
	if out.rec.Code != http.StatusForbidden || strings.Contains(out.rec.Body.String(), `name="token"`) {
		t.Fatalf("another user's confirmation page: %d", out.rec.Code)
	}
}

func TestFormsNotHeld(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	big := "a=" + strings.Repeat("x", defaultHoldMaxBody)
	for name, r := range map[string]*http.Request{
		"over the cap":  formRequest("POST", "http://127.0.0.1/transfer", big, navSameOrigin...),
		"cross-site":    formRequest("POST", "http://127.0.0.1/transfer", "a=1", "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Site", "cross-site"),
		"fetch":         formRequest("POST", "http://127.0.0.1/transfer", "a=1", "Sec-Fetch-Mode", "cors", "Sec-Fetch-Site", "same-origin"),
		"bearer client": formRequest("POST", "http://127.0.0.1/transfer", "a=1", append(navSameOrigin, "Authorization", "Bearer x")...),
	} {
		out := th.serve(t, r)
		if out.rec.Code != http.StatusUnauthorized || out.upstream != nil {
			t.Errorf("%s: %d, want the 401 challenge", name, out.rec.Code)
		}
	}
	if ids := listHeld(t, th); len(ids) != 0 {
		t.Fatalf("%d forms held, want none", len(ids))
	}
}

func TestHeldFormMultipartFields(t *testing.T) {
	body := "--b\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n" +
		"--b\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"x.txt\"\r\nContent-Type: text/plain\r\n\r\nsecret file\r\n--b--\r\n"
	got := heldFields(&heldRequest{ContentType: "multipart/form-data; boundary=b", Body: []byte(body)})
	want := []field{{"note", "hello"}, {"doc", "(file)"}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("fields %v, want %v", got, want)
	}
}

// Two tabs of one browser hold two forms. The second form's request
// carries what a browser sends it: not the first hold cookie (scoped to
// the confirmation page) but the flow slot counter; its hold cookie is
// named after its own slot, so both can be sent, each once, each its own
// body.
func TestTwoHeldFormsInOneBrowser(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	first := th.serve(t, formRequest("POST", "http://127.0.0.1/transfer", "tab=1", navSameOrigin...))
	jar := map[string]string{}
	for _, c := range first.rec.Result().Cookies() {
		jar[c.Name] = c.Value
	}
	second := th.serve(t, formRequest("POST", "http://127.0.0.1/transfer", "tab=2", append(navSameOrigin, "Cookie", flowNextCookie+"="+jar[flowNextCookie])...))
	if second.rec.Code != http.StatusFound {
		t.Fatalf("second tab's form: %d", second.rec.Code)
	}
	var holds []string
	for _, c := range second.rec.Result().Cookies() {
		if _, dup := jar[c.Name]; dup && strings.HasPrefix(c.Name, holdCookieName) {
			t.Fatal("the second hold replaced the first one's hold cookie")
		}
		jar[c.Name] = c.Value
	}
	for name, value := range jar {
		if strings.HasPrefix(name, holdCookieName+"_") {
			holds = append(holds, name+"="+value)
		}
	}
	if len(holds) != 2 {
		t.Fatalf("hold cookies %v, want one per held form", holds)
	}
	ids := map[string]string{}
	for want, out := range map[string]served{"tab=1": first, "tab=2": second} {
		f := flowOf(t, th, out.rec)
		u, _ := url.Parse(f.ReturnTo)
		ids[want] = u.Query().Get("id")
		heldProofs.Store(ids[want], loginProof(t, th, f))
	}
	cookies := strings.Join(holds, "; ") + "; " + th.cookieFor(t, th.session("urn:pwd", "pwd"))
	for _, want := range []string{"tab=2", "tab=1"} {
		token, _ := confirmPageFor(t, th, ids[want], cookies)
		out := confirm(t, th, ids[want], token, "send", cookies)
		if out.upstream == nil {
			t.Fatalf("%s: not sent: %d", want, out.rec.Code)
		}
		if got, _ := io.ReadAll(out.upstream.Body); string(got) != want {
			t.Fatalf("upstream got %q, want %q", got, want)
		}
	}
}
