package stepup

import (
	"net/http"
	"strconv"
	"strings"

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
