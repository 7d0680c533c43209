package idp

import (
	"context"
	"crypto/rand"
	"net/http"
	"slices"
	"sync"
	"time"
)

// ssoSession is the OP's own memory of a browser's authentication: who, when,
// and with which methods. It is what lets a second site visit (or the
// second rule) skip the password, and what max_age and prompt=login override.
type ssoSession struct {
	ID       string
	User     string
	AuthTime time.Time
	AMR      []string
}

// ssoCookie names the OP's session cookie. It is not Secure: the OP serves
// plain HTTP on loopback, which browsers treat as a secure context.
const ssoCookie = "demo_idp_session"

// ssoLifetime bounds an SSO session; the sites' own rules ask for fresher.
const ssoLifetime = 8 * time.Hour

// sessions keeps SSO sessions in memory, keyed by a random cookie value.
type sessions struct {
	mu  sync.Mutex
	all map[string]ssoSession
	now func() time.Time
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{all: map[string]ssoSession{}, now: now}
}

// get returns a copy of the browser's session, or nil.
func (s *sessions) get(r *http.Request) *ssoSession {
	c, err := r.Cookie(ssoCookie)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.all[c.Value]
	if !ok {
		return nil
	}
	if s.now().Sub(sess.AuthTime) > ssoLifetime {
		delete(s.all, c.Value)
		return nil
	}
	sess.AMR = slices.Clone(sess.AMR)
	return &sess
}

// authenticated records that user just authenticated with method. A
// password starts a new session (new cookie value, so a planted cookie
// never gains an identity); a second factor adds to the current one. Either
// way auth_time becomes now: that is when the user last proved who they are.
func (s *sessions) authenticated(w http.ResponseWriter, current *ssoSession, user, method string) *ssoSession {
	now := s.now()
	next := ssoSession{User: user, AuthTime: now, AMR: []string{method}}
	if method != methodPassword && current != nil && current.User == user {
		next.ID = current.ID
		next.AMR = append(slices.Clone(current.AMR), method)
	} else {
		next.ID = rand.Text()
	}
	s.mu.Lock()
	if current != nil && current.ID != next.ID {
		delete(s.all, current.ID)
	}
	s.all[next.ID] = next
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{
		Name:     ssoCookie,
		Value:    next.ID,
		Path:     "/",
		MaxAge:   int(ssoLifetime.Seconds()),
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	return &next
}

func (s *sessions) end(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.all, id)
}

func (s *sessions) endUser(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, sess := range s.all {
		if sess.User == user {
			delete(s.all, id)
		}
	}
}

// The end_session endpoint is served by the library, which hands storage
// only a context. This key carries the browser's session cookie there.
type ssoCookieKey struct{}

// withSSOCookie is an op.HttpInterceptor.
func withSSOCookie(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(ssoCookie); err == nil {
			r = r.WithContext(context.WithValue(r.Context(), ssoCookieKey{}, c.Value))
		}
		next.ServeHTTP(w, r)
	})
}

// age moves session id's auth_time back by d (the demo's "age my sign-in")
// and returns the new auth_time.
func (s *sessions) age(id string, d time.Duration) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.all[id]
	if !ok {
		return time.Time{}
	}
	sess.AuthTime = sess.AuthTime.Add(-d)
	s.all[id] = sess
	return sess.AuthTime
}
