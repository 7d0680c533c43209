package risk

import (
	"fmt"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"
)

// pollInterval is how often data files are checked for changes.
const pollInterval = 10 * time.Second

// watcher keeps the engine's data files loaded: it loads each once at start
// and again whenever its modification time or size changes. Problems are
// logged when they start and when they end, never per request.
type watcher struct {
	mu     sync.Mutex
	files  []*watchedFile
	logger *zap.Logger
}

// watchedFile is one data file and what to do with it.
type watchedFile struct {
	what     string // e.g. "ip_reputation file", for logs
	path     string
	failMode string // what happens while it is unavailable, for logs
	load     func(path string) error

	modTime time.Time
	size    int64
	stated  bool // modTime and size describe the last load attempt
	loaded  bool // a load has succeeded once
	failing bool // the latest check or load failed, and that was logged
	lastErr error
	// required files must load at start: New fails otherwise.
	required bool
}

func (w *watcher) add(what, path, failMode string, load func(string) error) *watchedFile {
	w.mu.Lock()
	defer w.mu.Unlock()
	f := &watchedFile{what: what, path: path, failMode: failMode, load: load}
	w.files = append(w.files, f)
	return f
}

// missingRequired returns an error naming the first required file that
// has not loaded, with the fix.
func (w *watcher) missingRequired() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, f := range w.files {
		if f.required && !f.loaded {
			return fmt.Errorf("stepup: risk %s: %q did not load (%v); fix the path or the file, or add optional to the block if another process writes it later", f.what, f.path, f.lastErr)
		}
	}
	return nil
}

// poll checks every file once and loads those that changed.
func (w *watcher) poll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, f := range w.files {
		w.check(f)
	}
}

func (w *watcher) check(f *watchedFile) {
	fi, err := os.Stat(f.path)
	if err == nil && fi.IsDir() {
		err = &os.PathError{Op: "read", Path: f.path, Err: errIsDir}
	}
	if err != nil {
		w.failed(f, err)
		return
	}
	if f.stated && fi.ModTime().Equal(f.modTime) && fi.Size() == f.size {
		return
	}
	// Remember the attempt even if it fails, so that a bad file is reported
	// once and retried only when it changes again.
	f.modTime, f.size, f.stated = fi.ModTime(), fi.Size(), true
	if err := f.load(f.path); err != nil {
		w.failed(f, err)
		return
	}
	if f.failing {
		w.logger.Info("risk: data file available again", zap.String("source", f.what), zap.String("path", f.path))
	}
	f.loaded, f.failing = true, false
}

func (w *watcher) failed(f *watchedFile, err error) {
	f.lastErr = err
	if f.failing {
		return
	}
	f.failing = true
	if f.loaded {
		w.logger.Warn("risk: data file unreadable; keeping the copy loaded before",
			zap.String("source", f.what), zap.String("path", f.path), zap.Error(err))
		return
	}
	w.logger.Error("risk: data file unavailable; "+f.failMode,
		zap.String("source", f.what), zap.String("path", f.path), zap.Error(err))
}

// run polls every interval until done is closed.
func (w *watcher) run(done <-chan struct{}, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			w.poll()
		}
	}
}
