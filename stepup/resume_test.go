package stepup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func formRequest(method, target, body string, headers ...string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// Holds are counted per client in a store the whole test binary shares.
	r.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:1234", mrand.IntN(256), mrand.IntN(256), mrand.IntN(256))
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	return r
}

var navSameOrigin = []string{"Sec-Fetch-Mode", "navigate", "Sec-Fetch-Site", "same-origin", "Accept", "text/html"}

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

// holdForm posts body to /transfer without a session and returns the held
// form's id and the browser's hold cookie.
func holdForm(t *testing.T, th *testHandler, body string) (id, holdCookie string) {
	t.Helper()
	out := th.serve(t, formRequest("POST", "http://127.0.0.1/transfer", body, navSameOrigin...))
	if out.rec.Code != http.StatusFound || out.upstream != nil {
		t.Fatalf("form that needs a login: %d %s, want a redirect to the IdP", out.rec.Code, out.rec.Body)
	}
	if !strings.Contains(out.rec.Header().Get("Location"), "/authorize?") {
		t.Fatalf("redirect to %q, want the IdP", out.rec.Header().Get("Location"))
	}
	for _, c := range out.rec.Result().Cookies() {
		if strings.HasPrefix(c.Name, holdCookieName+"_") {
			holdCookie = c.Name + "=" + c.Value
		}
	}
	f := flowOf(t, th, out.rec)
	u, err := url.Parse(f.ReturnTo)
	if err != nil || u.Path != defaultResumePath || holdCookie == "" {
		t.Fatalf("login returns to %q with hold cookie %q, want the confirmation page", f.ReturnTo, holdCookie)
	}
	id = u.Query().Get("id")
	heldProofs.Store(id, loginProof(t, th, f))
	return id, holdCookie
}

// flowOf opens the flow cookie the response set: the login it started.
func flowOf(t *testing.T, th *testHandler, rec *httptest.ResponseRecorder) flowState {
	t.Helper()
	for _, c := range rec.Result().Cookies() {
		if strings.HasPrefix(c.Name, flowCookiePrefix) && len(c.Name) == len(flowCookiePrefix)+flowNameIDLen {
			plain, err := th.sealer.Open(context.Background(), flowPurpose, c.Value)
			if err != nil {
				t.Fatal(err)
			}
			var f flowState
			if err := json.Unmarshal(plain, &f); err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatal("no flow cookie: no login was started")
	return flowState{}
}

// loginProof is the proof the callback hands out when login f completes
// for alice (the users of these tests), "" when it hands out none.
func loginProof(t *testing.T, th *testHandler, f flowState) string {
	t.Helper()
	u, err := url.Parse(th.afterLogin(context.Background(), &f, th.session("urn:pwd", "pwd")))
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("flow")
}

// heldProofs holds, by held form id, the proof its own login's callback
// gives alice: what her browser carries to the confirmation page.
var heldProofs sync.Map

func proofFor(id string) string {
	p, _ := heldProofs.Load(id)
	s, _ := p.(string)
	return s
}

var tokenField = regexp.MustCompile(`name="token" value="([^"]+)"`)

// confirmPageFor loads the confirmation page and returns its token.
func confirmPageFor(t *testing.T, th *testHandler, id, cookies string) (string, string) {
	t.Helper()
	return confirmPageWith(t, th, id, proofFor(id), cookies)
}

func confirmPageWith(t *testing.T, th *testHandler, id, proof, cookies string) (string, string) {
	t.Helper()
	out := th.serve(t, request("GET", "http://127.0.0.1"+defaultResumePath+"?"+url.Values{"id": {id}, "flow": {proof}}.Encode(), "Cookie", cookies))
	if out.rec.Code != http.StatusOK {
		t.Fatalf("confirmation page: %d %s", out.rec.Code, out.rec.Body)
	}
	m := tokenField.FindStringSubmatch(out.rec.Body.String())
	if m == nil {
		t.Fatalf("no token on the page: %s", out.rec.Body)
	}
	return m[1], out.rec.Body.String()
}

func confirm(t *testing.T, th *testHandler, id, token, action, cookies string, headers ...string) served {
	t.Helper()
	return confirmWith(t, th, id, proofFor(id), token, action, cookies, headers...)
}

func confirmWith(t *testing.T, th *testHandler, id, proof, token, action, cookies string, headers ...string) served {
	t.Helper()
	form := url.Values{"id": {id}, "token": {token}, "action": {action}, "flow": {proof}}.Encode()
	h := append([]string{"Cookie", cookies, "Sec-Fetch-Mode", "navigate", "Sec-Fetch-Site", "same-origin", "Accept", "text/html"}, headers...)
	return th.serve(t, formRequest("POST", "http://127.0.0.1"+defaultResumePath, form, h...))
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
		th.clock.add(defaultHoldLifetime + time.Second)
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
	old.AuthTime = th.clock.now().Add(-time.Hour) // too old for /transfer
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

func listHeld(t *testing.T, th *testHandler) []string {
	t.Helper()
	keys, err := th.storage.List(context.Background(), strings.TrimSuffix(holdStoragePrefix, "/"), false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range keys {
		ids = append(ids, strings.TrimPrefix(k, holdStoragePrefix))
	}
	return ids
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

func TestHoldsPerClientAreBounded(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	client := formRequest("GET", "/", "").RemoteAddr
	post := func() served {
		r := formRequest("POST", "http://127.0.0.1/transfer", "a=1", navSameOrigin...)
		r.RemoteAddr = client
		return th.serve(t, r)
	}
	for i := 0; i < maxHeldPerClient; i++ {
		if out := post(); out.rec.Code != http.StatusFound {
			t.Fatalf("hold %d: %d", i+1, out.rec.Code)
		}
	}
	out := post()
	if out.rec.Code != http.StatusUnauthorized {
		t.Fatalf("hold %d from one client: %d, want the 401 challenge", maxHeldPerClient+1, out.rec.Code)
	}
	if n := len(listHeld(t, th)); n != maxHeldPerClient {
		t.Fatalf("%d forms held, want %d", n, maxHeldPerClient)
	}
}

func TestSweepRemovesOnlyExpiredHeldForms(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	holdForm(t, th, "a=1")
	ctx := context.Background()
	if n, err := th.sweepHeldNow(ctx, time.Now()); err != nil || n != 0 {
		t.Fatalf("sweep of a fresh hold removed %d (%v)", n, err)
	}
	if n, err := th.sweepHeldNow(ctx, time.Now().Add(defaultHoldLifetime+2*time.Minute)); err != nil || n != 1 {
		t.Fatalf("sweep after the lifetime removed %d (%v), want 1", n, err)
	}
	if ids := listHeld(t, th); len(ids) != 0 {
		t.Fatalf("%d held forms left after the sweep", len(ids))
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
