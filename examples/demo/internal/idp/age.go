package idp

import (
	"net/http"
	"net/url"
	"time"
)

// agePath is a demo-only endpoint that makes the browser's SSO session look
// older, so "sign-in too old" (max_age) can be seen at once instead of after
// minutes of waiting. A real IdP has nothing like it.
const agePath = "/demo/age-session"

// ageBy is how much older one press makes the session.
const ageBy = 10 * time.Minute

// ageSession moves the SSO session's auth_time back by ageBy and sends the
// browser back through the site's login (rule signed_in, no max_age), so
// the site's session is minted again with the older auth_time: exactly what
// a user who signed in ten minutes earlier would have.
type ageSession struct {
	sessions *sessions
	site     string // the site's origin, e.g. https://localhost:8443
	logf     func(format string, args ...any)
}

func (a *ageSession) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if a.site == "" || r.Header.Get("Origin") != a.site {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	returnTo := r.PostForm.Get("return_to")
	if u, err := url.Parse(returnTo); err != nil || returnTo == "" || returnTo[0] != '/' || u.Host != "" || u.Scheme != "" {
		returnTo = "/"
	}
	sess := a.sessions.get(r)
	if sess == nil {
		http.Redirect(w, r, a.site+returnTo, http.StatusSeeOther)
		return
	}
	at := a.sessions.age(sess.ID, ageBy)
	a.logf("demo: %s's sign-in made %s older (auth_time now %s)", sess.User, ageBy, at.Format(time.TimeOnly))
	q := url.Values{"rule": {"signed_in"}, "return_to": {returnTo}}
	http.Redirect(w, r, a.site+"/.stepup/login?"+q.Encode(), http.StatusSeeOther)
}
