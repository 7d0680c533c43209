package risk

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/caddyserver/caddy/v2"
)

// geoDBs shares loaded MaxMind databases across the process. A City
// database is tens of megabytes in memory; without sharing, every site with
// a risk block holds its own copy, and every config reload (an ingress
// controller reloads on each Ingress change) reads the file again while the
// old config still holds the previous copy. Entries are keyed by the file's
// identity at load (path, modification time, size): a changed file is a
// new entry, and an entry is dropped when the last engine using it lets go.
var geoDBs = caddy.NewUsagePool()

// Destruct lets a geoDB live in a caddy.UsagePool; its memory is the GC's.
func (*geoDB) Destruct() error { return nil }

// sharedGeoDB returns the database at path, loaded once per process for as
// long as someone holds it; the key to release it with (empty when the file
// changed while it was read: that copy is not shared, and the watcher loads
// the new file on its next poll); and whether it was already loaded.
func sharedGeoDB(path, want string) (db *geoDB, key string, reused bool, err error) {
	before, err := os.Stat(path)
	if err != nil {
		return nil, "", false, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, "", false, err
	}
	key = fmt.Sprintf("%s\x00%s\x00%d\x00%d", want, abs, before.ModTime().UnixNano(), before.Size())
	v, loaded, err := geoDBs.LoadOrNew(key, func() (caddy.Destructor, error) {
		db, err := openGeoDB(path, want)
		if err != nil {
			return nil, err
		}
		after, err := os.Stat(path)
		if err != nil || !after.ModTime().Equal(before.ModTime()) || after.Size() != before.Size() {
			return nil, errChangedWhileRead{db}
		}
		return db, nil
	})
	if changed, ok := err.(errChangedWhileRead); ok {
		return changed.db, "", false, nil
	}
	if err != nil {
		return nil, "", false, err
	}
	return v.(*geoDB), key, loaded, nil
}

// errChangedWhileRead carries a database read from a file that changed
// meanwhile out of LoadOrNew without storing it under the old identity.
type errChangedWhileRead struct{ db *geoDB }

func (errChangedWhileRead) Error() string { return "database file changed while it was read" }

// geoHolds is what one location signal holds in geoDBs, released when the
// database is replaced or the engine closes. After close nothing more is
// taken: a poll racing with Close does not leave an entry behind.
type geoHolds struct {
	mu     sync.Mutex
	keys   map[string]string // by "country" / "asn"
	closed bool
}

// swap records key as the one held for want, releasing the previous one.
// It reports false (and releases key) when the holder is already closed.
func (h *geoHolds) swap(want, key string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		release(key)
		return false
	}
	if h.keys == nil {
		h.keys = map[string]string{}
	}
	old := h.keys[want]
	h.keys[want] = key
	if old != key {
		release(old)
	} else {
		release(key) // the same entry taken twice: keep one hold
	}
	return true
}

// close releases everything held.
func (h *geoHolds) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for _, k := range h.keys {
		release(k)
	}
	h.keys = nil
}

func release(key string) {
	if key != "" {
		_, _ = geoDBs.Delete(key)
	}
}
