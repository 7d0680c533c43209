package stepup

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/caddyserver/certmagic"
)

// heldStoreFails is a storage that cannot keep held forms: every other key
// is stored as usual.
type heldStoreFails struct{ certmagic.Storage }

func (s heldStoreFails) Store(ctx context.Context, key string, value []byte) error {
	if strings.HasPrefix(key, holdStoragePrefix) {
		return errors.New("storage unavailable")
	}
	return s.Storage.Store(ctx, key, value)
}

// A form that cannot be held is answered as if no hold had been tried: the
// RFC 9470 challenge, with no hold cookie and no flow slot counter of the
// hold that failed on it.
func TestFailedHoldLeavesNoCookieOnTheAnswer(t *testing.T) {
	th := newTestHandler(t, fakeDiscovery(t, false).URL, nil)
	th.storage = heldStoreFails{th.storage}
	out := th.serve(t, formRequest("POST", "http://127.0.0.1/transfer", "a=1", navSameOrigin...))
	if out.rec.Code != http.StatusUnauthorized || out.upstream != nil {
		t.Fatalf("form whose hold failed: %d, want the 401 challenge", out.rec.Code)
	}
	for _, c := range out.rec.Result().Cookies() {
		if strings.HasPrefix(c.Name, holdCookieName+"_") || strings.HasPrefix(c.Name, "__Secure-"+holdCookieName+"_") ||
			c.Name == th.cookies.Plain.FlowNext || c.Name == th.cookies.Prefixed.FlowNext {
			t.Errorf("the answer sets %s, a cookie of the hold that failed", c.Name)
		}
	}
	if ids := listHeld(t, th); len(ids) != 0 {
		t.Fatalf("%d forms held, want none", len(ids))
	}
}
