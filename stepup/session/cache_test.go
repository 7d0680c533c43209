package session

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// testBinding is the provider and client binding of testStore's sealer.
const testBinding = "https://idp\x00client"

func TestCachedSessionsAreRetiredWithTheirKeySet(t *testing.T) {
	c := newSessionCache(8)
	now := time.Unix(1_800_000_000, 0)
	s := &Session{Subject: "alice", Expires: now.Add(time.Hour)}
	k1, k2 := &keySet{}, &keySet{}
	c.put(testBinding, "cookie", k1, s, now)
	if c.get(testBinding, "cookie", k1) != s {
		t.Fatal("a cached session was not found")
	}
	if c.get(testBinding, "cookie", k2) != nil {
		t.Fatal("a session opened with an older key set was served")
	}
	if c.get(testBinding, "cookie2", k1) != nil || c.get(testBinding, "cooki", k1) != nil {
		t.Fatal("another cookie value was answered")
	}
	if c.get("https://other-idp\x00client", "cookie", k1) != nil || c.get("https://idp\x00other-client", "cookie", k1) != nil {
		t.Fatal("a session opened for one provider and client was served to another")
	}
	c.put(testBinding, "expired", k1, &Session{Subject: "bob", Expires: now}, now)
	if c.get(testBinding, "expired", k1) != nil {
		t.Fatal("an expired session was cached")
	}
}

func TestSessionCacheStaysWithinItsBound(t *testing.T) {
	c := newSessionCache(16)
	now := time.Unix(1_800_000_000, 0)
	keys := &keySet{}
	for i := range 1000 {
		c.put(testBinding, fmt.Sprint("cookie", i), keys, &Session{Subject: "u", Expires: now.Add(time.Hour)}, now)
		held := 0
		for j := range i + 1 {
			if c.get(testBinding, fmt.Sprint("cookie", j), keys) != nil {
				held++
			}
		}
		if held > 16 {
			t.Fatalf("%d entries after %d puts, bound 16", held, i+1)
		}
	}
	if c.get(testBinding, "cookie999", keys) == nil {
		t.Fatal("the newest entry was evicted")
	}
}

func TestSessionCacheIsSafeForConcurrentUse(t *testing.T) {
	c := newSessionCache(32)
	now := time.Unix(1_800_000_000, 0)
	keys := &keySet{}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				cookie := fmt.Sprint("cookie", (g*7+i)%64)
				if s := c.get(testBinding, cookie, keys); s != nil && s.Subject != cookie {
					t.Errorf("cookie %s answered with %s", cookie, s.Subject)
					return
				}
				c.put(testBinding, cookie, keys, &Session{Subject: cookie, Expires: now.Add(time.Hour)}, now)
			}
		})
	}
	wg.Wait()
}

func TestNoCacheHoldsNothing(t *testing.T) {
	c := newSessionCache(0)
	now := time.Unix(1_800_000_000, 0)
	keys := &keySet{}
	c.put(testBinding, "cookie", keys, &Session{Subject: "alice", Expires: now.Add(time.Hour)}, now)
	if c.get(testBinding, "cookie", keys) != nil {
		t.Fatal("a cache of size 0 answered")
	}
}
