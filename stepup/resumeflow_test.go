package stepup

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// A held form is sent only after the login started for it: not with no
// proof of a login, nor after another login of the same browser and user
// (one for another held form, or one started at the login endpoint with
// the confirmation page as its return path).
func TestHeldFormIsBoundToItsLoginFlow(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	alice := th.cookieFor(t, th.session("urn:pwd", "pwd"))
	id, hold := holdForm(t, th, "to=bob&amount=100")
	otherID, _ := holdForm(t, th, "to=carol&amount=5")
	cookies := hold + "; " + alice

	// A login started at the login endpoint, returning to X's page.
	start := th.serve(t, request("GET", "http://127.0.0.1"+defaultLoginPath+"?return_to="+url.QueryEscape(defaultResumePath+"?id="+id)))
	if start.rec.Code != http.StatusFound {
		t.Fatalf("login endpoint: %d", start.rec.Code)
	}
	viaLogin := flowOf(t, th, start.rec)
	// An attempt for X's page that is not the one X was held for.
	own := flowOf(t, th, th.serve(t, formRequest("POST", "http://127.0.0.1/transfer", "x=1", navSameOrigin...)).rec)
	forged := own
	forged.ReturnTo = defaultResumePath + "?id=" + id
	mallory := th.session("urn:pwd", "pwd")
	mallory.Subject = "mallory"
	u, _ := url.Parse(th.afterLogin(t.Context(), &flowState{Held: "x", ReturnTo: defaultResumePath + "?id=" + id}, mallory))

	for name, proof := range map[string]string{
		"no login":                          "",
		"login endpoint":                    loginProof(t, th, viaLogin),
		"another held form's login":         proofFor(otherID),
		"another attempt, same return path": loginProof(t, th, forged),
		"completed for another user":        u.Query().Get("flow"),
		"not a proof":                       randomToken(),
	} {
		out := th.serve(t, request("GET", "http://127.0.0.1"+defaultResumePath+"?"+url.Values{"id": {id}, "flow": {proof}}.Encode(), "Cookie", cookies))
		if out.rec.Code != http.StatusForbidden {
			t.Errorf("%s: confirmation page %d, want 403", name, out.rec.Code)
		}
		token, _ := confirmPageFor(t, th, id, cookies) // the right token: only the login differs
		if out := confirmWith(t, th, id, proof, token, "send", cookies); out.upstream != nil || out.rec.Code != http.StatusForbidden {
			t.Errorf("%s: send %d (upstream reached %v), want 403 and nothing sent", name, out.rec.Code, out.upstream != nil)
		}
	}

	// Its own login still sends it: the refusals consumed nothing.
	token, _ := confirmPageFor(t, th, id, cookies)
	out := confirm(t, th, id, token, "send", cookies)
	if out.upstream == nil {
		t.Fatalf("after its own login: %d, not sent", out.rec.Code)
	}
	if got, _ := io.ReadAll(out.upstream.Body); string(got) != "to=bob&amount=100" {
		t.Fatalf("upstream got %q", got)
	}
}

// The one retry with prompt=login a weak answer earns (callback.go) is the
// same login for the held form: its proof sends the form.
func TestRetriedLoginKeepsTheHeldFormsBinding(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	out := th.serve(t, formRequest("POST", "http://127.0.0.1/transfer", "a=1", navSameOrigin...))
	first := flowOf(t, th, out.rec)
	var hold string
	for _, c := range out.rec.Result().Cookies() {
		if strings.HasPrefix(c.Name, holdCookieName+"_") {
			hold = c.Name + "=" + c.Value
		}
	}
	rec := httptest.NewRecorder()
	if err := th.retryLogin(rec, request("GET", "http://127.0.0.1/.stepup/callback"), &first, fail(http.StatusForbidden, "acr", "", errors.New("weak"))); err != nil {
		t.Fatal(err)
	}
	retry := flowOf(t, th, rec)
	if retry.State == first.State || !retry.Prompt {
		t.Fatal("the retry is not a new attempt with prompt=login")
	}
	u, _ := url.Parse(first.ReturnTo)
	id := u.Query().Get("id")
	cookies := hold + "; " + th.cookieFor(t, th.session("urn:pwd", "pwd"))
	proof := loginProof(t, th, retry)
	token, _ := confirmPageWith(t, th, id, proof, cookies)
	if out := confirmWith(t, th, id, proof, token, "send", cookies); out.upstream == nil {
		t.Fatalf("after the retried login: %d, not sent", out.rec.Code)
	}
}
