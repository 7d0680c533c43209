package browser

import (
	"strings"
	"sync"
)

// outputTail returns the last n lines of Chromium's output, without the
// D-Bus complaints every headless Chromium makes in a container.
func (b *Browser) outputTail(n int) string {
	var keep []string
	for _, l := range strings.Split(b.output.String(), "\n") {
		if strings.TrimSpace(l) != "" && !strings.Contains(l, ":ERROR:dbus/") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep[max(0, len(keep)-n):], "\n")
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (w *tailBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	if over := len(w.buf) - w.max; over > 0 {
		w.buf = append(w.buf[:0], w.buf[over:]...)
	}
	return len(p), nil
}

func (w *tailBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}
