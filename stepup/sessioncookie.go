package stepup

import (
	"net"
	"net/http"
	"regexp"
	"strings"
)

const sessionPurpose = "session"

var cookieNamePattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// readSession returns the request's session, or nil when there is none or it
// does not open (tampered, truncated, foreign key, expired key, old format):
// all of those simply mean "no session", never an error page.
func (h *Handler) readSession(r *http.Request) *session {
	raw, ok := cookieValue(r.Header, h.cookies(r).session)
	if !ok || raw == "" {
		return nil
	}
	// The key set before opening: should a rotation happen meanwhile, the
	// cache entry is tagged with the older set and simply misses next time.
	keys := h.sealer.ring.current()
	if s := h.sessions.get(raw, keys); s != nil {
		if !s.valid(h.now()) {
			h.metrics.sessionDecodes.WithLabelValues("expired").Inc()
		}
		return s
	}
	// Opened in a recycled buffer: unmarshalSession copies what it keeps.
	buf := h.sealer.buffer()
	defer h.sealer.release(buf)
	plain, err := h.sealer.openTo(r.Context(), buf[:], sessionPurpose, raw)
	if err != nil {
		h.metrics.sessionDecodes.WithLabelValues("sealed").Inc()
		return nil
	}
	s, err := unmarshalSession(plain)
	if err != nil {
		h.metrics.sessionDecodes.WithLabelValues("format").Inc()
		return nil
	}
	now := h.now()
	if !s.valid(now) {
		h.metrics.sessionDecodes.WithLabelValues("expired").Inc()
	}
	h.sessions.put(raw, keys, s, now)
	return s
}

func (h *Handler) writeSession(w http.ResponseWriter, r *http.Request, s *session) error {
	plain, err := marshalSession(s)
	if err != nil {
		return err
	}
	sealed, err := h.sealer.seal(r.Context(), sessionPurpose, plain)
	if err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{
		Name:     h.cookies(r).session,
		Value:    sealed,
		Path:     "/",
		Expires:  s.Expires,
		Secure:   h.secureCookies(r),
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	return nil
}

func (h *Handler) clearSession(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: h.cookies(r).session, Value: "", Path: "/", MaxAge: -1,
		Secure: h.secureCookies(r), HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}

// secureCookies reports whether cookies get the Secure flag: always, unless
// the loudly named loopback development option is on and this is a
// plain-HTTP request to a loopback site.
func (h *Handler) secureCookies(r *http.Request) bool {
	return !h.plainLoopback(r)
}

// plainLoopback reports whether r is what insecure_loopback_http relaxes
// the rules for: plain HTTP to a site on 127.0.0.1, ::1 or localhost. A
// plain-HTTP request for any other host keeps Secure, prefixed cookies and
// https redirect URIs, so the option cannot weaken a real site that also
// answers on port 80.
func (h *Handler) plainLoopback(r *http.Request) bool {
	return h.InsecureLoopbackHTTP && r.TLS == nil && isLoopbackHostPort(r.Host)
}

// isLoopbackHostPort is isLoopbackHost for a Host header, port or not.
func isLoopbackHostPort(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]")
	}
	return isLoopbackHost(host)
}

// cookieNames are the names of our cookies for one kind of request.
type cookieNames struct {
	session    string
	flowPrefix string
	flowNext   string // which flow slot the next login takes (flowslots.go)
	device     string // the risk engine's long-lived device identifier
}

// cookies returns the cookie names for r: `__Host-` for the session
// (host-only, path /) and `__Secure-` for flow cookies (scoped to the
// callback path), so that no subdomain or plain-HTTP page can plant them.
// Only plain-HTTP requests under insecure_loopback_http go without the
// prefixes, which browsers refuse on cookies that are not Secure.
func (h *Handler) cookies(r *http.Request) *cookieNames {
	if h.secureCookies(r) {
		return &h.secureNames
	}
	return &h.plainNames
}

// dropOurCookies removes stepup's cookies from the request before it goes
// upstream, unless keep_cookies is set.
func (h *Handler) dropOurCookies(r *http.Request) {
	if h.KeepCookies {
		return
	}
	removeCookies(r.Header, h.isOurCookie)
}

func (h *Handler) isOurCookie(name string) bool {
	ours := func(n *cookieNames) bool {
		return name == n.session || name == n.device || strings.HasPrefix(name, n.flowPrefix) || name == n.flowNext
	}
	return ours(&h.secureNames) || (h.InsecureLoopbackHTTP && ours(&h.plainNames))
}
