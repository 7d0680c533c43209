package session

import (
	"net/http"
	"strings"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/loopback"
)

// Names are the names of our cookies for one kind of request.
type Names struct {
	Session    string
	FlowPrefix string
	FlowNext   string // which flow slot the next login takes
	Device     string // the risk engine's long-lived device identifier
}

// Cookies names our cookies and sets their attributes for a request:
// `__Host-` for the host-wide ones (host-only, path /) and `__Secure-` for
// flow cookies (scoped to the callback path), so that no subdomain or
// plain-HTTP page can plant them. Only plain-HTTP requests under
// insecure_loopback_http go without the prefixes, which browsers refuse on
// cookies that are not Secure.
type Cookies struct {
	Prefixed Names // every request but the ones below
	Plain    Names // plain HTTP to a loopback site under insecure_loopback_http

	// InsecureLoopbackHTTP is the handler's insecure_loopback_http.
	InsecureLoopbackHTTP bool
}

// NewCookies returns the cookies named plain, prefixed where they can be.
func NewCookies(plain Names, insecureLoopbackHTTP bool) *Cookies {
	return &Cookies{
		Prefixed: Names{
			Session:    "__Host-" + plain.Session,
			FlowPrefix: "__Secure-" + plain.FlowPrefix,
			FlowNext:   "__Host-" + plain.FlowNext,
			Device:     "__Host-" + plain.Device,
		},
		Plain:                plain,
		InsecureLoopbackHTTP: insecureLoopbackHTTP,
	}
}

// For returns the cookie names for r.
func (c *Cookies) For(r *http.Request) *Names {
	if c.Secure(r) {
		return &c.Prefixed
	}
	return &c.Plain
}

// Secure reports whether cookies get the Secure flag: always, unless the
// loudly named loopback development option is on and this is a plain-HTTP
// request to a loopback site.
func (c *Cookies) Secure(r *http.Request) bool {
	return !c.PlainLoopback(r)
}

// PlainLoopback reports whether r is what insecure_loopback_http relaxes
// the rules for: plain HTTP to a site on 127.0.0.1, ::1 or localhost. A
// plain-HTTP request for any other host keeps Secure, prefixed cookies and
// https redirect URIs, so the option cannot weaken a real site that also
// answers on port 80.
func (c *Cookies) PlainLoopback(r *http.Request) bool {
	return c.InsecureLoopbackHTTP && r.TLS == nil && loopback.HostPort(r.Host)
}

// Set sets c with the attributes every cookie of ours has: Secure (see
// Secure), HttpOnly and SameSite=Lax, so that no page script reads it and
// no cross-site request but a top-level navigation carries it.
func (c *Cookies) Set(w http.ResponseWriter, r *http.Request, cookie *http.Cookie) {
	cookie.Secure, cookie.HttpOnly, cookie.SameSite = c.Secure(r), true, http.SameSiteLaxMode
	http.SetCookie(w, cookie)
}

// ours reports whether name is one of our cookies.
func (c *Cookies) ours(name string) bool {
	named := func(n *Names) bool {
		return name == n.Session || name == n.Device || strings.HasPrefix(name, n.FlowPrefix) || name == n.FlowNext
	}
	return named(&c.Prefixed) || (c.InsecureLoopbackHTTP && named(&c.Plain))
}

// Drop removes our cookies from the request's Cookie header, so that they
// do not travel upstream.
func (c *Cookies) Drop(h http.Header) { removeCookies(h, c.ours) }
