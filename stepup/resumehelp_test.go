package stepup

// Helpers the held-form tests share: hold a form, read its flow, confirm it.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
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
