package bounded

import "testing"

func TestMapHoldsAtMostItsBoundAndEvictsStaleEntriesFirst(t *testing.T) {
	m := New[int, bool](4)
	stale := func(v bool) bool { return v }
	m.Put(0, true, stale) // the one stale entry
	for k := 1; k < 4; k++ {
		m.Put(k, false, stale)
	}
	m.Put(4, false, stale)
	if _, ok := m.Get(0); ok {
		t.Fatal("a full map kept its stale entry and evicted a live one")
	}
	for k := 1; k <= 4; k++ {
		if _, ok := m.Get(k); !ok {
			t.Fatalf("live entry %d evicted while a stale one was there", k)
		}
	}
	for k := 5; k < 100; k++ {
		m.Put(k, false, stale)
	}
	held := 0
	for k := range 100 {
		if _, ok := m.Get(k); ok {
			held++
		}
	}
	if held != 4 {
		t.Fatalf("%d entries held, bound 4", held)
	}
	if _, ok := m.Get(99); !ok {
		t.Fatal("the newest entry was evicted")
	}
}

func TestReplacingAnEntryOfAFullMapEvictsNothing(t *testing.T) {
	m := New[int, int](2)
	never := func(int) bool { return false }
	m.Put(1, 1, never)
	m.Put(2, 2, never)
	m.Put(2, 3, never)
	if v, ok := m.Get(1); !ok || v != 1 {
		t.Fatal("replacing an entry evicted another")
	}
	if v, _ := m.Get(2); v != 3 {
		t.Fatalf("replaced entry = %d, want 3", v)
	}
}

func TestReplaceChangesOnlyAPresentEntryItAccepts(t *testing.T) {
	m := New[int, int](2)
	never := func(int) bool { return false }
	m.Put(1, 1, never)
	if m.Replace(1, 2, func(old int) bool { return old == 7 }) {
		t.Fatal("replaced an entry the caller did not accept")
	}
	if !m.Replace(1, 2, func(old int) bool { return old == 1 }) {
		t.Fatal("did not replace the accepted entry")
	}
	if v, _ := m.Get(1); v != 2 {
		t.Fatalf("entry = %d, want 2", v)
	}
	if m.Replace(3, 3, func(int) bool { return true }) {
		t.Fatal("Replace added an absent (evicted) entry")
	}
	if _, ok := m.Get(3); ok {
		t.Fatal("an absent entry came back")
	}
}
