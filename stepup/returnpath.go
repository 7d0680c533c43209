package stepup

import (
	"net/url"
	"strings"
)

// safeReturnPath returns target if it is a same-origin absolute path that a
// browser will resolve on this site, and fallback otherwise.
//
// Browsers are lenient in ways that turn innocent-looking strings into other
// origins: "//evil" and "/\evil" are scheme-relative, tabs and newlines are
// stripped before parsing ("/\t/evil" becomes "//evil"), and "https:evil"
// or "javascript:" carry a scheme. So the rule is strict: the raw value must
// start with exactly one "/", contain no backslash, no control or space
// character, and must not decode into something that starts with "//".
func safeReturnPath(target, fallback string) string {
	if !isSafeReturnPath(target) {
		return fallback
	}
	return target
}

// maxReturnPathLen keeps the flow cookie small whatever the URL.
const maxReturnPathLen = 1024

func isSafeReturnPath(target string) bool {
	if len(target) == 0 || len(target) > maxReturnPathLen || target[0] != '/' {
		return false
	}
	if len(target) > 1 && (target[1] == '/' || target[1] == '\\') {
		return false
	}
	for i := 0; i < len(target); i++ {
		c := target[i]
		if c <= ' ' || c == 0x7f || c == '\\' {
			return false
		}
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return false
	}
	// A path whose decoded form starts with "//" or "/\" is fine for the
	// browser (it keeps the encoding) but some upstreams decode and redirect;
	// refusing it costs nothing legitimate.
	if decoded, err := url.PathUnescape(u.EscapedPath()); err != nil ||
		strings.HasPrefix(decoded, "//") || strings.HasPrefix(decoded, "/\\") ||
		strings.ContainsAny(decoded, "\\\r\n\t\x00") {
		return false
	}
	return true
}
