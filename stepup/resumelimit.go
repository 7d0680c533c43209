package stepup

import (
	"io"
	"net"
	"net/http"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// Holding writes to storage for anyone who can send a form, and fetch
// metadata headers are only a browser's word: a script can send them. So
// holds are counted in the state store per client IP and cluster-wide per
// defaultHoldLifetime, and beyond either bound a form gets the 401 as before.
// At the cluster bound, storage holds at most about
// maxHeldPerWindow × hold_max_body of held forms.
const (
	maxHeldPerWindow = 1000
	maxHeldPerClient = 10
)

// holdBody reads r's body within the cap. ok is false when the body is
// over the cap or holding is over its bounds: the caller answers as before
// holding existed.
func (h *Handler) holdBody(r *http.Request) (body []byte, ok bool) {
	limit := h.holdMaxBody()
	if r.ContentLength > limit {
		return nil, false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, false // a client that stopped sending: nothing to hold
	}
	if int64(len(body)) > limit || !h.holdAllowed(r) {
		return nil, false
	}
	return body, true
}

// holdAllowed counts this hold against the bounds; false (or an
// unreachable store) means do not hold.
func (h *Handler) holdAllowed(r *http.Request) bool {
	ctx := r.Context()
	if n, _, err := h.store.Count(ctx, holdClaimUse+"_all", "all", defaultHoldLifetime); err != nil || n > maxHeldPerWindow {
		return false
	}
	ip, _ := caddyhttp.GetVar(ctx, caddyhttp.ClientIPVarKey).(string)
	if ip == "" {
		ip, _, _ = net.SplitHostPort(r.RemoteAddr)
	}
	n, _, err := h.store.Count(ctx, holdClaimUse+"_ip", ip, defaultHoldLifetime)
	return err == nil && n <= maxHeldPerClient
}
