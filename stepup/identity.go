package stepup

import (
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/caddyserver/caddy/v2"
)

// pass records who the request is from, for placeholders and upstream
// headers, and removes our cookies before the request travels on.
func (h *Handler) pass(r *http.Request, repl *caddy.Replacer, req *requirement, s *session, result string) {
	// A lazy provider: the values are only formatted if something asks.
	repl.Map(func(key string) (any, bool) {
		switch key {
		case "http.auth.user.id", "http.stepup.sub":
			return s.Subject, true
		case "http.auth.user.acr", "http.stepup.acr":
			return s.ACR, true
		case "http.auth.user.amr", "http.stepup.amr":
			return strings.Join(s.AMR, " "), true
		case "http.auth.user.auth_time", "http.stepup.auth_time":
			if s.AuthTime.IsZero() {
				return "", true
			}
			return strconv.FormatInt(s.AuthTime.Unix(), 10), true
		case "http.stepup.rule":
			return req.rule, true
		case "http.stepup.result":
			return result, true
		}
		return nil, false
	})
	for name, tmpl := range h.UpstreamHeaders {
		r.Header.Set(name, repl.ReplaceKnown(tmpl, ""))
	}
	h.dropOurCookies(r)
}

// stripIdentityHeaders deletes client-supplied copies of the headers we set
// or were told to strip. Look-alikes spelled with `_` or `.` go too: CGI,
// PHP and some frameworks fold them onto the same variable (X_User and
// X-User both become HTTP_X_USER). Headers rarely contain those characters,
// so the common case is one pass over the keys without allocating.
func (h *Handler) stripIdentityHeaders(hdr http.Header) {
	for _, name := range h.stripHeaders {
		hdr.Del(name)
	}
	for key := range hdr {
		if strings.ContainsAny(key, "_.") && h.stripFolded[foldHeaderName(key)] {
			delete(hdr, key)
		}
	}
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
