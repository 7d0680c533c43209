package stepup

import (
	"net/http"
	"strconv"

	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// maxFlows bounds the logins a browser can have in progress at once. Each
// attempt has its own flow cookie (up to about 2 KB with a long return
// path), and all of them travel to the callback: unbounded, abandoned
// attempts piled up until the callback's request headers grew too large
// (431). Flow cookies are named after one of maxFlows slots, taken in turn,
// so a new attempt replaces the oldest one's cookie: that attempt's
// callback is then refused as unknown, and its user simply starts again.
const maxFlows = 4

// flowNextCookie remembers, for the login start (which does not see the
// flow cookies: they are scoped to the callback path), which slot the next
// attempt takes. It lives as long as a flow and says nothing but a digit.
const flowNextCookie = flowCookiePrefix + "next"

// takeFlowSlot returns the slot the new attempt uses, the one after the
// latest attempt's (the oldest of the slots), and moves the counter on.
// Two attempts started at the same instant may take the same slot; the
// later one then replaces the earlier.
func (h *Handler) takeFlowSlot(w http.ResponseWriter, r *http.Request) byte {
	names := h.cookies.For(r)
	slot := byte('0')
	if v, ok := session.CookieValue(r.Header, names.FlowNext); ok && len(v) == 1 && isFlowSlot(v[0]) {
		slot = v[0]
	}
	next := '0' + (slot-'0'+1)%maxFlows
	h.cookies.Set(w, r, &http.Cookie{
		Name: names.FlowNext, Value: string(rune(next)), Path: "/", MaxAge: int(flowLifetime.Seconds()),
	})
	return slot
}

func isFlowSlot(c byte) bool { return c >= '0' && c < '0'+maxFlows }

// newFlowState is a state for an attempt in slot: the slot's digit, which
// names the flow cookie, then 43 random characters.
func newFlowState(slot byte) string { return strconv.Itoa(int(slot-'0')) + randomToken() }
