package idp

import (
	"crypto/subtle"
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
	token    string // the panel's form carries it
	logf     func(format string, args ...any)
}

func (a *ageSession) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// GET, because the IdP's session cookie is SameSite=Lax: a browser
	// sends it on a cross-site top-level GET, never on a cross-site POST.
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	// The panel's form carries a token of this run (no other page can read
	// it), so a link from anywhere else is refused.
	q := r.URL.Query()
	if a.token == "" || subtle.ConstantTimeCompare([]byte(q.Get("token")), []byte(a.token)) != 1 {
		a.logf("demo: age-session refused: the form does not carry this run's token")
		http.Error(w, "only the demo's panel may ask for this", http.StatusForbidden)
		return
	}
	returnTo := q.Get("return_to")
	if u, err := url.Parse(returnTo); err != nil || returnTo == "" || returnTo[0] != '/' || u.Host != "" || u.Scheme != "" {
		returnTo = "/"
	}
	sess := a.sessions.get(r)
	if sess == nil {
		a.logf("demo: no sign-in at the IdP to make older")
		http.Redirect(w, r, a.site+returnTo, http.StatusSeeOther)
		return
	}
	at := a.sessions.age(sess.ID, ageBy)
	a.logf("demo: %s's sign-in made %s older (auth_time now %s)", sess.User, ageBy, at.Format(time.TimeOnly))
	login := url.Values{"rule": {"signed_in"}, "return_to": {returnTo}}
	http.Redirect(w, r, a.site+"/.stepup/login?"+login.Encode(), http.StatusSeeOther)
}
