package session

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/testclock"
)

// storesOnOneKeyring are n stores sealing with one keyring (as handlers on
// one storage share it), each with its own binding and cookie names.
func storesOnOneKeyring(t *testing.T, c *testclock.Clock, bindings ...string) []*Store {
	t.Helper()
	ring := NewKeyring(testStorage(t), 24*time.Hour, c.Now)
	stores := make([]*Store, len(bindings))
	for i, b := range bindings {
		cookies := NewCookies(Names{Session: fmt.Sprintf("stepup%d", i), FlowPrefix: "stepup_flow_", FlowNext: "stepup_flow_next", Device: "stepup_device"}, true)
		stores[i] = NewStore(NewSealer(ring, b, flowPurpose), cookies, WithClock(c.Now))
	}
	return stores
}

// A store new on a keyring (a handler provisioned by a config reload)
// finds the sessions another store on it opened, under its own cookie
// name, without opening them again (issue 19 item 3).
func TestAStoreFindsTheSessionsAnotherStoreOnItsKeyringOpened(t *testing.T) {
	c := testclock.New(time.Unix(1_800_000_000, 0))
	stores := storesOnOneKeyring(t, c, testBinding, testBinding)
	old, fresh := stores[0], stores[1]
	sealed, err := old.Seal(context.Background(), testSession(c, "alice", "urn:otp"))
	if err != nil {
		t.Fatal(err)
	}
	if s := mustRead(t, old, cookieRequest("stepup0="+sealed)); s == nil || old.Opens() != 1 {
		t.Fatalf("the first store read %+v with %d opens, want alice with 1", s, old.Opens())
	}
	s := mustRead(t, fresh, cookieRequest("stepup1="+sealed))
	if s == nil || s.Subject != "alice" {
		t.Fatalf("the second store read %+v, want alice", s)
	}
	if fresh.Opens() != 0 {
		t.Fatalf("the second store opened the cookie %d times, want 0: it did not find the shared entry", fresh.Opens())
	}
}

// A session cached for one provider and client is not served to a store of
// another on the same keyring: the cookie does not open there, and the
// cache must not pretend it does.
func TestACachedSessionIsNotServedToAnotherBinding(t *testing.T) {
	c := testclock.New(time.Unix(1_800_000_000, 0))
	stores := storesOnOneKeyring(t, c, testBinding, "https://idp\x00other-client", "https://other-idp\x00client")
	sealed, err := stores[0].Seal(context.Background(), testSession(c, "alice", "urn:otp"))
	if err != nil {
		t.Fatal(err)
	}
	if mustRead(t, stores[0], cookieRequest("stepup0="+sealed)) == nil {
		t.Fatal("the session did not open where it was sealed")
	}
	for i, st := range stores[1:] {
		s, err := st.Read(cookieRequest(fmt.Sprintf("stepup%d=%s", i+1, sealed)))
		if s != nil || !errors.Is(err, ErrSealed) {
			t.Fatalf("binding %q read %+v, %v; want ErrSealed", st.sealer.aad, s, err)
		}
		if st.Opens() != 1 {
			t.Fatalf("binding %q: %d opens, want 1 (tried and refused)", st.sealer.aad, st.Opens())
		}
	}
}

// Once the key a cookie was sealed with leaves the keyring, no store on it
// finds the session any more, however recently another store opened it.
func TestASessionWhoseKeyIsRetiredIsNotFoundByAnyStore(t *testing.T) {
	c := testclock.New(time.Unix(1_800_000_000, 0))
	stores := storesOnOneKeyring(t, c, testBinding, testBinding)
	s := testSession(c, "alice", "urn:otp")
	s.Expires = c.Now().Add(KeyRetention + 48*time.Hour) // outlives its key
	sealed, err := stores[0].Seal(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if mustRead(t, stores[0], cookieRequest("stepup0="+sealed)) == nil {
		t.Fatal("the session did not open")
	}
	c.Add(24*time.Hour + KeyRetention + time.Hour)
	if _, err := stores[0].sealer.ring.ring.Load(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if got, err := stores[1].Read(cookieRequest("stepup1=" + sealed)); got != nil || !errors.Is(err, ErrSealed) {
		t.Fatalf("after its key was retired the cookie read as %+v, %v; want ErrSealed", got, err)
	}
}

// However many stores share a keyring, its cache holds at most
// sessionCacheSize sessions: the bound is the keyring's, not each
// handler's.
func TestStoresOnOneKeyringShareOneBound(t *testing.T) {
	c := testclock.New(time.Unix(1_800_000_000, 0))
	const perStore = sessionCacheSize / 2
	bindings := []string{"https://a\x00c", "https://b\x00c", "https://c\x00c", "https://d\x00c"}
	stores := storesOnOneKeyring(t, c, bindings...)
	sealed := make([][]string, len(stores))
	for i, st := range stores {
		for j := range perStore {
			v, err := st.Seal(context.Background(), testSession(c, fmt.Sprint("user", j), "urn:pwd"))
			if err != nil {
				t.Fatal(err)
			}
			sealed[i] = append(sealed[i], v)
			if mustRead(t, st, cookieRequest(fmt.Sprintf("stepup%d=%s", i, v))) == nil {
				t.Fatal("a session did not open")
			}
		}
	}
	keys := stores[0].sealer.ring.current()
	held := 0
	for i, st := range stores {
		if st.cache != stores[0].cache {
			t.Fatalf("store %d has a cache of its own", i)
		}
		for _, v := range sealed[i] {
			if st.cache.get(st.sealer.aad, v, keys) != nil {
				held++
			}
		}
	}
	if held > sessionCacheSize {
		t.Fatalf("%d sessions cached for %d stores, bound %d", held, len(stores), sessionCacheSize)
	}
	if held < sessionCacheSize/2 {
		t.Fatalf("only %d sessions cached of %d opened: the shared cache is not used", held, len(stores)*perStore)
	}
}
