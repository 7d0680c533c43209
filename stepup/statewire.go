package stepup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-stepup/caddy-stepup/stepup/session"
	"github.com/caddy-stepup/caddy-stepup/stepup/state"
)

// provisionState takes this process's shared store for the state setting
// (memory when unset). Several handlers naming the same server share one
// connection pool. With a shared server, max_age 0 passes are single-use
// across replicas.
func (h *Handler) provisionState(ctx caddy.Context) error {
	if err := state.RegisterMetrics(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("registering state metrics: %w", err)
	}
	if err := registerRevocationMetrics(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("registering revocation metrics: %w", err)
	}
	if err := registerRegulationMetrics(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("registering regulation metrics: %w", err)
	}
	s, key, err := state.Load(ctx, h.State)
	if err != nil {
		return err
	}
	h.store, h.storeKey = s, key
	h.provisionRegulation(s)
	if s.Backend() != state.BackendMemory {
		h.freshPasses = &sharedFreshPasses{store: s, scope: h.stateScope(), local: h.freshPasses, failOpen: s.FailOpen()}
		h.shareRiskFrequency(s)
	}
	return nil
}

// shareRiskFrequency makes the risk engine's frequency counts global: each
// replica counts locally and merges through the store in the background
// (risk.SyncEvery); while the store is unreachable, counts are local. The
// scope names the provider and the counting window, so handlers with the
// same provider and window count together, on every replica.
func (h *Handler) shareRiskFrequency(s *state.Store) {
	if h.risk == nil || h.riskConfig.Frequency == nil {
		return
	}
	scope := fmt.Sprintf("%sfreq%d:", h.stateScope(), time.Duration(h.riskConfig.Frequency.Window).Milliseconds())
	h.risk.ShareFrequency(s, scope, h.now, nil) // the store logs and counts its errors
}

// releaseState gives the store back; the last user closes it.
func (h *Handler) releaseState() {
	if h.store != nil {
		_ = state.Release(h.storeKey)
		h.store = nil
	}
}

// stateScope prefixes this provider's keys in the shared store, so that
// configs for different IdPs or clients sharing a server never collide.
func (h *Handler) stateScope() string {
	sum := sha256.Sum256([]byte(h.Provider.Issuer + "\x00" + h.Provider.ClientID))
	return hex.EncodeToString(sum[:8]) + ":"
}

// sharedFreshPasses records max_age 0 passes in the shared store: one use
// cluster-wide (set-if-absent with a TTL). When the store is unreachable
// the pass is refused (on_outage closed, the default) or recorded in this
// replica's own ledger (on_outage open: single-use per replica only).
type sharedFreshPasses struct {
	store    *state.Store
	scope    string
	local    freshPassLedger
	failOpen bool
}

func (l *sharedFreshPasses) use(ctx context.Context, key string, now, expires time.Time) (bool, error) {
	first, err := l.store.Claim(ctx, "fresh_pass", l.scope+key, max(expires.Sub(now), time.Second))
	if err != nil && l.failOpen && l.local != nil {
		return l.local.use(ctx, key, now, expires)
	}
	return first, err
}

// revocationRetryAfter is the Retry-After sent while the revocation list
// cannot be confirmed current.
const revocationRetryAfter = "5"

// checkRevoked drops a session that was revoked (back-channel logout or the
// admin route): the request then goes on as one without a session. It
// reads this replica's copy only. While the copy cannot be refreshed from
// the shared store, a request a rule covers is refused with 503 unless
// on_outage is open. It returns the session to use, or a non-nil error
// when the request was answered.
func (h *Handler) checkRevoked(w http.ResponseWriter, s *session.Session, protected bool) (*session.Session, error) {
	if s == nil || h.store == nil {
		return s, nil
	}
	if h.store.Revoked(h.Provider.Issuer, s.Subject, s.SID, s.Issued) {
		revocationMetrics.refused.WithLabelValues("revoked").Inc()
		return nil, nil
	}
	if protected && !h.store.Current() && !h.store.FailOpen() {
		revocationMetrics.refused.WithLabelValues("stale").Inc()
		h.store.Unavailable("revocation_check", errRevocationsStale)
		w.Header().Set("Retry-After", revocationRetryAfter)
		return nil, caddyhttp.Error(http.StatusServiceUnavailable, errRevocationsStale)
	}
	return s, nil
}

// errBearerRevoked refuses an access token whose subject was revoked
// (back-channel logout by sub, or the admin route) after it was issued.
// Revocations by sid alone do not reach bearer tokens: access tokens carry
// no sid.
var errBearerRevoked = errors.New("bearer token of a revoked subject")

var errRevocationsStale = fmt.Errorf("%w: the revocation list could not be refreshed", state.ErrUnavailable)
