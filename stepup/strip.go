package stepup

import (
	"net/http"
	"strings"
	"unicode"
)

// stripIdentityHeaders deletes client-supplied copies of the headers we set
// or were told to strip. Look-alikes spelled with `_` or `.` go too: CGI,
// PHP and some frameworks fold them onto the same variable (X_User and
// X-User both become HTTP_X_USER). Headers rarely contain those characters,
// so the common case is one pass over the keys without allocating.
func (h *Handler) stripIdentityHeaders(hdr http.Header) {
	for _, name := range h.stripHeaders {
		delete(hdr, name) // canonical since Provision: Header.Del's work done once
	}
	for key := range hdr {
		if foldable(key) && h.stripFolded[foldHeaderName(key)] {
			delete(hdr, key)
		}
	}
}

// foldable reports whether a header name has `_` or `.`. This runs for every
// header of every request; a byte loop costs a third of strings.ContainsAny
// on names this short.
func foldable(name string) bool {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c == '_' || c == '.' {
			return true
		}
	}
	return false
}

// foldHeaderName maps a header name to the form CGI-style upstreams see:
// case-insensitive, with `_` and `.` read as `-`.
func foldHeaderName(name string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '_', '.':
			return '-'
		}
		return unicode.ToLower(r)
	}, name)
}
