package session

import (
	"net/http"
	"strings"
	"unicode"
)

// CookieValue finds the named cookie in the request without parsing every
// cookie into a slice (r.Cookie allocates for each one); this runs on every
// request that a rule covers.
func CookieValue(h http.Header, name string) (string, bool) {
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
// A logged-in browser sends our session cookie with every request, so the
// usual case costs one scan and no allocation (see keptRun); otherwise the
// remaining cookies are built in one allocation. The header is left
// untouched when none of ours is present.
func removeCookies(h http.Header, drop func(name string) bool) {
	lines := h["Cookie"]
	switch {
	case len(lines) == 0:
		return
	case len(lines) == 1:
		kept, dropped, inPlace := keptRun(lines[0], drop)
		if !dropped {
			return
		}
		if inPlace {
			if kept == "" {
				h.Del("Cookie")
			} else {
				lines[0] = kept // in place: see below
			}
			return
		}
	case !anyDropped(lines, drop):
		return
	}
	size := 0
	for _, line := range lines {
		size += len(line)
	}
	var kept strings.Builder
	kept.Grow(size)
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			part = strings.TrimSpace(part)
			k, _, _ := strings.Cut(part, "=")
			if part == "" || drop(k) {
				continue
			}
			if kept.Len() > 0 {
				kept.WriteString("; ")
			}
			kept.WriteString(part)
		}
	}
	if kept.Len() == 0 {
		h.Del("Cookie")
		return
	}
	// Reuse the header's own slice: the request owns it, and a new one
	// would be one more allocation per request.
	h["Cookie"] = append(lines[:0], kept.String())
}

func anyDropped(lines []string, drop func(name string) bool) bool {
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			if k, _, _ := strings.Cut(strings.TrimSpace(part), "="); drop(k) {
				return true
			}
		}
	}
	return false
}

// keptRun scans a single Cookie line: dropped reports whether any cookie
// satisfies drop, and when inPlace, kept is what removeCookies builds from
// the line, as it already stands in it: one run of cookies with `; `
// between them (ours first or last: the usual case), so no allocation.
func keptRun(line string, drop func(name string) bool) (kept string, dropped, inPlace bool) {
	start, end := -1, -1 // the run of kept cookies so far
	closed := false      // something left out followed the run
	inPlace = true
	for i := 0; i <= len(line); {
		j := strings.IndexByte(line[i:], ';')
		if j < 0 {
			j = len(line) - i
		}
		part := line[i : i+j]
		off := i + len(part) - len(strings.TrimLeftFunc(part, unicode.IsSpace))
		part = strings.TrimSpace(part)
		k, _, _ := strings.Cut(part, "=")
		switch {
		case part != "" && drop(k):
			dropped = true
			closed = start >= 0
		case part == "":
			closed = start >= 0
		case closed || (start >= 0 && line[end:off] != "; "):
			inPlace = false
		default:
			if start < 0 {
				start = off
			}
			end = off + len(part)
		}
		i += j + 1
	}
	if !inPlace || start < 0 {
		return "", dropped, inPlace
	}
	return line[start:end], dropped, true
}
