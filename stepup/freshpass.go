package stepup

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// A max_age 0 login allows one request. The session cookie minted by the
// login records nothing about its use: a copy of that cookie (a replayed
// request, a second tab) would pass as often as it was sent within the
// pass window. So the pass's use is recorded on the server, in a
// freshPassLedger, and a pass already used is refused.

// freshPassLedger records which fresh passes were used. The local ledger
// below holds this replica's record; a shared store can implement it so
// that a pass is single-use across replicas as well.
type freshPassLedger interface {
	// use marks the pass key as used, remembering it until expires, and
	// reports whether this was its first use. An error means the use could
	// not be recorded; the pass is then refused.
	use(ctx context.Context, key string, now, expires time.Time) (bool, error)
}

// freshPassKey identifies one fresh pass: the session's user, the login
// that minted it and the rule it was made for. It is a stable hash, so a
// shared ledger sees the same key on every replica.
func freshPassKey(s *session.Session) string {
	h := sha256.New()
	var t [16]byte
	binary.BigEndian.PutUint64(t[:8], uint64(s.Issued.Unix()))
	binary.BigEndian.PutUint64(t[8:], uint64(s.AuthTime.Unix()))
	h.Write(t[:])
	h.Write([]byte(s.LoginRule))
	h.Write([]byte{0})
	h.Write([]byte(s.Subject))
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// freshPassCapacity bounds the local ledger. A pass is remembered for
// decision.FreshPassWindow (a minute), so this is 65,536 max_age 0 logins a minute
// on one replica, about 6 MB when full.
const freshPassCapacity = 1 << 16

var errFreshPassesFull = errors.New("fresh-pass ledger full: more max_age 0 logins within a minute than it holds")

// localFreshPasses is the per-replica ledger. It never forgets a pass
// before it expires: when it is full of live passes it refuses new ones
// (the user signs in again a moment later) rather than evicting a used one,
// which would make that pass usable again.
type localFreshPasses struct {
	mu   sync.Mutex
	used map[string]time.Time // key → when the entry may be forgotten
	max  int
}

func newLocalFreshPasses(max int) *localFreshPasses {
	return &localFreshPasses{used: make(map[string]time.Time), max: max}
}

func (l *localFreshPasses) use(_ context.Context, key string, now, expires time.Time) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until, ok := l.used[key]; ok && now.Before(until) {
		return false, nil
	}
	if len(l.used) >= l.max {
		for k, until := range l.used {
			if !now.Before(until) {
				delete(l.used, k)
			}
		}
		if len(l.used) >= l.max {
			return false, errFreshPassesFull
		}
	}
	l.used[key] = expires
	return true, nil
}

// Destruct implements caddy.Destructor.
func (l *localFreshPasses) Destruct() error { return nil }

// freshPassLedgers keeps a provider's ledger across config reloads: a
// reload must not make a used pass usable again.
var freshPassLedgers = caddy.NewUsagePool()

func loadFreshPasses(key string) (*localFreshPasses, error) {
	v, _, err := freshPassLedgers.LoadOrNew(key, func() (caddy.Destructor, error) {
		return newLocalFreshPasses(freshPassCapacity), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*localFreshPasses), nil
}

// spendFreshPass uses s's fresh pass for the request: it is recorded in
// the ledger, and the session cookie is rewritten to say so. It reports
// false when the pass was already used (or could not be recorded).
func (h *Handler) spendFreshPass(w http.ResponseWriter, r *http.Request, s *session.Session) (bool, error) {
	now := h.now()
	first, err := h.freshPasses.use(r.Context(), freshPassKey(s), now, s.Issued.Add(decision.FreshPassWindow))
	if err != nil {
		if log, left := h.freshPassLog.allow(now); log {
			h.logger.Warn("max_age 0 pass refused: its use could not be recorded", zap.Error(err), zap.Int("refused_since_last_warning", left))
		}
		return false, nil
	}
	if !first {
		return false, nil
	}
	spent := *s
	spent.FreshSpent = true
	if err := h.sessions.Write(w, r, &spent); err != nil {
		return false, caddyhttp.Error(http.StatusServiceUnavailable, err)
	}
	return true, nil
}
