package stepup

import (
	"net/http"
	"strings"
)

// cookieValue finds the named cookie in the request without parsing every
// cookie into a slice (r.Cookie allocates for each one); this runs on every
// request that a rule covers.
func cookieValue(h http.Header, name string) (string, bool) {
	for _, line := range h["Cookie"] {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			k, v, ok := strings.Cut(part, "=")
			if ok && k == name {
				return strings.Trim(v, `"`), true
			}
		}
	}
	return "", false
}

// removeCookies deletes the cookies whose names satisfy drop from the
// request's Cookie header, so that our cookies do not travel upstream.
// It leaves the header untouched (no allocation) when none is present.
func removeCookies(h http.Header, drop func(name string) bool) {
	lines := h["Cookie"]
	if len(lines) == 0 {
		return
	}
	found := false
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			k, _, _ := strings.Cut(strings.TrimSpace(part), "=")
			if drop(k) {
				found = true
				break
			}
		}
	}
	if !found {
		return
	}
	var kept []string
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			part = strings.TrimSpace(part)
			k, _, _ := strings.Cut(part, "=")
			if part != "" && !drop(k) {
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
