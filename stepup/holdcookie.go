package stepup

import (
	"crypto/sha256"
	"net/http"
	"strings"
)

// The hold cookie: set when a form is held, checked on the confirmation
// page (loadHeld) and removed from the resumed request before it goes
// upstream.

// newHoldBrowser is a new hold cookie's value and its hash: a held form is
// resumed only by the browser that sent it. The cookie is scoped to the
// confirmation page, so the form's own request never carries it (a form
// cannot reuse the one a first held form set), and it is named after the
// slot of the form's login attempt (flowcookie.go): held forms in several
// tabs each keep their own, at most maxFlows of them, and a newer hold
// replaces a cookie only where its login replaces the older login anyway.
// The cookie is set (setHoldCookie) only once the held record is stored.
func newHoldBrowser() (value string, hash []byte) {
	value = randomToken()
	sum := sha256.Sum256([]byte(value))
	return value, sum[:]
}

func (h *Handler) setHoldCookie(w http.ResponseWriter, r *http.Request, slot, value string) {
	h.cookies.Set(w, r, &http.Cookie{
		Name: h.holdCookie(r, slot), Value: value, Path: h.resumePath(), MaxAge: int(defaultHoldLifetime.Seconds()),
	})
}

func (h *Handler) holdCookie(r *http.Request, slot string) string {
	if h.cookies.Secure(r) {
		return "__Secure-" + holdCookieName + "_" + slot
	}
	return holdCookieName + "_" + slot
}

// dropHoldCookies removes the hold cookies from a Cookie header. The
// other cookies of ours leave with the request's pass (dropOurCookies);
// hold cookies are scoped to the confirmation page, so only a resumed
// request carries them, and the check stays off every other request.
func dropHoldCookies(h http.Header) {
	lines := h["Cookie"]
	var kept []string
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			part = strings.TrimSpace(part)
			name, _, _ := strings.Cut(part, "=")
			if part != "" && !strings.HasPrefix(strings.TrimPrefix(name, "__Secure-"), holdCookieName+"_") {
				kept = append(kept, part)
			}
		}
	}
	if len(kept) == 0 {
		h.Del("Cookie")
		return
	}
	h["Cookie"] = []string{strings.Join(kept, "; ")}
}
