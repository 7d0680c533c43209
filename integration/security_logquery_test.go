package integration

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/integration/internal/caddyproc"
)

// logEntry is one line of Caddy's JSON log.
type logEntry map[string]any

func (l logEntry) str(key string) string { s, _ := l[key].(string); return s }

// logMark is the current end of Caddy's log; later assertions look after it.
func logMark(c *caddyproc.Caddy) int { return len(c.Logs()) }

// entriesSince parses the JSON log lines written after mark.
func entriesSince(c *caddyproc.Caddy, mark int) []logEntry {
	var out []logEntry
	sc := bufio.NewScanner(strings.NewReader(c.Logs()[mark:]))
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for sc.Scan() {
		var l logEntry
		if json.Unmarshal(sc.Bytes(), &l) == nil {
			out = append(out, l)
		}
	}
	return out
}

// logQuery selects a stepup log entry: msg and, when set, reason, the
// request's path, and a field holding a substring.
type logQuery struct {
	msg, reason, path string
	field, substr     string
}

func (q logQuery) matches(l logEntry) bool {
	if l.str("logger") != "http.handlers.stepup" || l.str("msg") != q.msg {
		return false
	}
	if q.reason != "" && l.str("reason") != q.reason {
		return false
	}
	if q.path != "" {
		req, _ := l["request"].(map[string]any)
		if p, _ := req["path"].(string); p != q.path {
			return false
		}
	}
	return q.field == "" || strings.Contains(l.str(q.field), q.substr)
}

// waitLogEntry waits for a stepup log entry after mark that q selects, and
// returns it. Caddy's stderr reaches the buffer through a pipe, so the
// line may trail the response by a moment.
func waitLogEntry(t *testing.T, c *caddyproc.Caddy, mark int, q logQuery) logEntry {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, l := range entriesSince(c, mark) {
			if q.matches(l) {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no stepup log entry %+v; log since the attack:\n%s", q, tail(c.Logs()[mark:], 20))
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitLog waits for the entry msg with "reason":reason after mark.
func waitLog(t *testing.T, c *caddyproc.Caddy, mark int, msg, reason string) logEntry {
	t.Helper()
	return waitLogEntry(t, c, mark, logQuery{msg: msg, reason: reason})
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
