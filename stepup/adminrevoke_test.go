package stepup

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

func TestAdminRevokeEndsTheSubjectsSessions(t *testing.T) {
	th := newTestHandler(t, "https://idp.example/"+t.Name(), nil)
	t.Cleanup(func() { _ = th.Cleanup() })
	s := th.session("urn:otp")
	s.Issued = time.Now().Add(-time.Minute) // the admin route revokes up to the wall clock
	if !th.passes(t, s) {
		t.Fatal("session does not pass before the revocation")
	}
	for _, bad := range []string{`{}`, `{"issuer":"x"}`, `{"sub":"alice"}`, `not json`, `{"issuer":"x","sub":"a","extra":1}`} {
		rec := httptest.NewRecorder()
		err := serveAdminRevoke(rec, httptest.NewRequest("POST", "/stepup/revoke", strings.NewReader(bad)))
		if ae, ok := err.(caddy.APIError); !ok || ae.HTTPStatus != http.StatusBadRequest {
			t.Errorf("body %s: %v, want a 400", bad, err)
		}
	}
	if !th.passes(t, s) {
		t.Fatal("a refused admin request changed something")
	}
	body := `{"issuer":"` + th.Provider.Issuer + `","sub":"alice"}`
	if err := serveAdminRevoke(httptest.NewRecorder(), httptest.NewRequest("POST", "/stepup/revoke", strings.NewReader(body))); err != nil {
		t.Fatal(err)
	}
	if th.passes(t, s) {
		t.Error("the revoked subject's session still passes")
	}
}
