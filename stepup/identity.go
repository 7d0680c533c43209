package stepup

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// passOn sends on a request that met what was asked of it: with the
// identity it was judged by, or, when nothing was asked, without one.
func (h *Handler) passOn(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, repl *caddy.Replacer, req *decision.Requirement, s *session.Session) error {
	if req == nil {
		return h.passUnprotected(w, r, next)
	}
	h.metrics.passed.Inc()
	h.pass(r, repl, req, s, outcomePass)
	return next.ServeHTTP(w, r)
}

// passReportOnly sends on a request that fell short of a report-only
// requirement: with the session's identity while the session is valid,
// without one otherwise.
func (h *Handler) passReportOnly(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, repl *caddy.Replacer, req *decision.Requirement, s *session.Session) error {
	if s.Valid(h.now()) {
		h.pass(r, repl, req, s, outcomeReportOnly)
	} else {
		repl.Set("http.stepup.result", outcomeReportOnly)
		h.dropOurCookies(r)
	}
	return next.ServeHTTP(w, r)
}

// pass records who the request is from, for placeholders and upstream
// headers, and removes our cookies before the request travels on.
func (h *Handler) pass(r *http.Request, repl *caddy.Replacer, req *decision.Requirement, s *session.Session, result string) {
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
			return req.Name, true
		case "http.stepup.result":
			return result, true
		}
		return nil, false
	})
	for _, u := range h.upstream {
		r.Header[u.name] = []string{u.value(repl)}
	}
	h.attachAssertion(r, req, s, result == outcomeReportOnly)
	h.dropOurCookies(r)
}

// upstreamHeader is an upstream_header entry compiled at Provision.
type upstreamHeader struct {
	name string // canonical, as Header.Set would make it
	tmpl string
	// key is the placeholder when tmpl is exactly one (`{http.auth.user.id}`,
	// the usual case): its value is then looked up directly, sparing
	// ReplaceKnown's scan and string builder on every request that passes.
	key string
}

func compileUpstreamHeaders(headers map[string]string) []upstreamHeader {
	out := make([]upstreamHeader, 0, len(headers))
	for name, tmpl := range headers {
		u := upstreamHeader{name: http.CanonicalHeaderKey(name), tmpl: tmpl}
		if len(tmpl) > 2 && tmpl[0] == '{' && tmpl[len(tmpl)-1] == '}' && !strings.ContainsAny(tmpl[1:len(tmpl)-1], "{}\\") {
			u.key = tmpl[1 : len(tmpl)-1]
		}
		out = append(out, u)
	}
	// Map order is random; a fixed order keeps the outcome deterministic
	// should two names fold onto the same header.
	slices.SortFunc(out, func(a, b upstreamHeader) int {
		return cmp.Or(strings.Compare(a.name, b.name), strings.Compare(a.tmpl, b.tmpl))
	})
	return out
}

// value is repl.ReplaceKnown(u.tmpl, ""): a known placeholder gives its
// value (empty stays empty), an unknown one stays as written.
func (u *upstreamHeader) value(repl *caddy.Replacer) string {
	if u.key == "" {
		return repl.ReplaceKnown(u.tmpl, "")
	}
	if v, ok := repl.Get(u.key); ok {
		return caddy.ToString(v)
	}
	return u.tmpl
}

// passUnprotected sends on a request nothing was asked of, without
// stepup's cookies and without an identity.
func (h *Handler) passUnprotected(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	h.metrics.passedNoRule.Inc()
	h.dropOurCookies(r)
	return next.ServeHTTP(w, r)
}
