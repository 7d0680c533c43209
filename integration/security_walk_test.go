package integration

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// hop is one request of a navigation and its answer.
type hop struct {
	url     *url.URL
	status  int
	header  http.Header
	body    string
	cookies []*http.Cookie // Set-Cookie of this answer
}

// trip is a navigation, hop by hop.
type trip struct{ hops []hop }

func (tr trip) last() hop { return tr.hops[len(tr.hops)-1] }

func (tr trip) urls() []string {
	var s []string
	for _, h := range tr.hops {
		s = append(s, h.url.String())
	}
	return s
}

// minted reports whether any answer set a non-empty session cookie.
func (tr trip) minted() bool {
	for _, h := range tr.hops {
		for _, c := range h.cookies {
			if c.Name == sessionCookieName && c.Value != "" && c.MaxAge >= 0 {
				return true
			}
		}
	}
	return false
}

// setCookie returns the first cookie set on the trip whose name has prefix.
func (tr trip) setCookie(prefix string) (*http.Cookie, bool) {
	for _, h := range tr.hops {
		for _, c := range h.cookies {
			if strings.HasPrefix(c.Name, prefix) && c.Value != "" {
				return c, true
			}
		}
	}
	return nil, false
}

// hopTo returns the first hop whose path is p.
func (tr trip) hopTo(p string) (hop, bool) {
	for _, h := range tr.hops {
		if h.url.Path == p {
			return h, true
		}
	}
	return hop{}, false
}

// walk navigates like a browser from target, following redirects. When stop
// says so for the next URL, walk returns without requesting it (as next).
func walk(t *testing.T, c *http.Client, target string, stop func(*url.URL) bool) (tr trip, next *url.URL) {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatalf("walk: %v", err)
	}
	for range 25 {
		if stop != nil && stop(u) {
			return tr, u
		}
		resp, err := c.Do(navigation(u)) // keeps the exact path and query
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		tr.hops = append(tr.hops, hop{url: u, status: resp.StatusCode, header: resp.Header, body: string(body), cookies: resp.Cookies()})
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode >= 400 || loc == "" {
			return tr, nil
		}
		if u, err = u.Parse(loc); err != nil {
			t.Fatalf("bad Location %q: %v", loc, err)
		}
	}
	t.Fatalf("too many redirects: %v", tr.urls())
	return tr, nil
}

func isCallback(u *url.URL) bool { return u.Path == callbackPath }

// jarSession returns the session cookie value the client holds for the site.
func jarSession(c *http.Client, site string) string {
	u, _ := url.Parse(site)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == sessionCookieName {
			return ck.Value
		}
	}
	return ""
}

// withQuery returns a copy of u with query parameter name set to value
// (removed when value is nil).
func withQuery(u *url.URL, name string, value *string) *url.URL {
	v := *u
	q := v.Query()
	if value == nil {
		q.Del(name)
	} else {
		q.Set(name, *value)
	}
	v.RawQuery = q.Encode()
	return &v
}
