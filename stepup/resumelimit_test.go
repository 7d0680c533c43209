package stepup

import (
	"context"
	"net/http"
	"testing"
	"time"
)

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
