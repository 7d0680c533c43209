package keystore

import (
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
)

func TestPoolSharesAValueUntilItsLastUseIsReleased(t *testing.T) {
	p := NewPool[*int]()
	made := 0
	make := func() *int { made++; return new(int) }
	a, loaded, err := p.Get("k", make)
	if err != nil || loaded {
		t.Fatalf("first Get: loaded %v, %v", loaded, err)
	}
	b, loaded, _ := p.Get("k", make)
	if !loaded || a != b || made != 1 {
		t.Fatal("a second Get of one key made a new value")
	}
	p.Release("k")
	if n, ok := p.pool.References("k"); !ok || n != 1 {
		t.Fatalf("after one release: %d references, in pool %v", n, ok)
	}
	p.Release("k")
	if _, ok := p.pool.References("k"); ok {
		t.Fatal("the value outlived its last use")
	}
}

func TestStorageIDTellsStoragesAndRotationsApart(t *testing.T) {
	a, b := &certmagic.FileStorage{Path: "/a"}, &certmagic.FileStorage{Path: "/b"}
	if StorageID(a, time.Hour) == StorageID(b, time.Hour) {
		t.Error("two file storages share an id")
	}
	if StorageID(a, time.Hour) == StorageID(a, 2*time.Hour) {
		t.Error("two rotations share an id")
	}
	if StorageID(a, time.Hour) != StorageID(&certmagic.FileStorage{Path: "/a"}, time.Hour) {
		t.Error("one storage path has two ids across reloads")
	}
}
