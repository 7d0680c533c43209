package risk

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"

	"go.uber.org/zap"
)

var errIsDir = errors.New("is a directory")

// maxLoggedLines bounds how many bad lines of one file are logged one by
// one; the rest are counted.
const maxLoggedLines = 10

// reputation is the ip_reputation signal: the union of its list files.
type reputation struct {
	weight   int
	failOpen bool
	logger   *zap.Logger

	set      atomic.Pointer[ipSet] // union of the loaded files; never nil
	unloaded atomic.Int32          // files that have never loaded

	mu    sync.Mutex // serialises reloads
	lists map[string][]netip.Prefix
}

func newReputation(c *IPReputationConfig, logger *zap.Logger, w *watcher) *reputation {
	r := &reputation{weight: c.Weight, failOpen: c.FailOpen, logger: logger, lists: map[string][]netip.Prefix{}}
	r.set.Store(&ipSet{})
	r.unloaded.Store(int32(len(c.Files)))
	for _, path := range c.Files {
		w.add("ip_reputation file", path, failMode(c.FailOpen, "ip_reputation"), r.load)
	}
	return r
}

// failMode describes, for the log, what an unavailable source does.
func failMode(open bool, signal string) string {
	if open {
		return "failing open: " + signal + " adds 0 points until it loads"
	}
	return "failing closed: " + signal + " adds its full points until it loads"
}

// load (re)reads one list file and rebuilds the union.
func (r *reputation) load(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	prefixes, bad, err := parseList(path, f)
	f.Close()
	if err != nil {
		return err
	}
	for i, e := range bad {
		if i == maxLoggedLines {
			r.logger.Warn("risk: more bad lines in IP list skipped", zap.String("path", path), zap.Int("count", len(bad)-i))
			break
		}
		r.logger.Warn("risk: bad line in IP list skipped", zap.String("path", e.Path), zap.Int("line", e.Line),
			zap.String("reason", e.Reason), zap.String("text", e.Text))
	}
	if len(prefixes) == 0 && len(bad) > 0 {
		// Every line is bad: most likely not an IP list at all. Keep what
		// was loaded before, and fail open or closed if nothing was.
		return fmt.Errorf("no valid line in %s (%d bad lines); is it an IP list?", path, len(bad))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, seen := r.lists[path]; !seen {
		r.unloaded.Add(-1)
	}
	r.lists[path] = prefixes
	var all []netip.Prefix
	for _, l := range r.lists {
		all = append(all, l...)
	}
	set := buildIPSet(all)
	r.set.Store(set)
	r.logger.Info("risk: IP list loaded", zap.String("path", path), zap.Int("entries", len(prefixes)),
		zap.Int("bad_lines", len(bad)), zap.Int("ranges_in_all_lists", set.spans()))
	return nil
}

func (r *reputation) evaluate(ip netip.Addr, out *Result) {
	if r.set.Load().contains(ip) {
		out.add(SignalIPReputation, r.weight, false)
		return
	}
	if r.unloaded.Load() > 0 {
		out.add(SignalIPReputation, closedPoints(r.failOpen, r.weight), true)
	}
}

// closedPoints is what an unavailable signal adds.
func closedPoints(failOpen bool, weight int) int {
	if failOpen {
		return 0
	}
	return weight
}
