// Package session owns what stepup keeps in the browser: the session
// cookie's claims and codec, the keys in Caddy's storage that seal it and
// our other cookie values, the cache of opened sessions, and our cookies'
// names and attributes. It knows nothing of the handler: a Store reads,
// writes and clears a request's session, and its Sealer seals the flow and
// hold values the handler keeps.
package session

import (
	"slices"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/risk"
)

// Session is what the session cookie carries: verified claims, never tokens.
// It is small on purpose; every byte travels with every request.
type Session struct {
	Subject  string
	ACR      string
	AMR      []string
	AuthTime time.Time // when the user last authenticated at the IdP
	Issued   time.Time // when we minted this cookie
	Expires  time.Time // absolute end of the session

	// LoginRule names the rule the latest login was made for. It lets a rule
	// with max_age 0 pass once right after its login (FreshSpent then records
	// that the pass was used), and it powers the redirect loop guard.
	LoginRule  string
	FreshSpent bool

	// SID is the IdP's session id (the ID token's sid claim), so that an
	// OpenID Back-Channel Logout naming it ends this session. Empty when
	// the IdP sends none.
	SID string

	// Login is what the risk engine recorded at login (country, network,
	// location, device), so that every replica compares against the same
	// baseline. HasLogin is false when no engine recorded anything.
	HasLogin bool
	Login    risk.Recorded
}

// Valid reports whether the session can be used at all at now.
func (s *Session) Valid(now time.Time) bool {
	return s != nil && s.Subject != "" && now.Before(s.Expires)
}

// HasAMR reports whether every method in want was used.
func (s *Session) HasAMR(want []string) bool {
	for _, m := range want {
		if !slices.Contains(s.AMR, m) {
			return false
		}
	}
	return true
}
