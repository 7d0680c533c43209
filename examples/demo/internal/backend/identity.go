package backend

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Identity is who the edge says sent the request. caddy-stepup sets these
// headers (upstream_header in the Caddyfile) only on requests that passed one
// of its rules, after deleting any the client sent; on other paths they are
// stripped and arrive empty. The backend trusts them because only Caddy can
// reach it (it listens on loopback; in production: a private network).
type Identity struct {
	User     string    `json:"user"`
	ACR      string    `json:"acr"`
	AMR      []string  `json:"amr"`
	AuthTime time.Time `json:"auth_time"`
}

// The headers the demo's Caddyfile sets.
const (
	HeaderUser     = "X-User"
	HeaderACR      = "X-Acr"
	HeaderAMR      = "X-Amr"
	HeaderAuthTime = "X-Auth-Time"
)

func identityFrom(r *http.Request) *Identity {
	user := r.Header.Get(HeaderUser)
	if user == "" {
		return nil
	}
	id := &Identity{User: user, ACR: r.Header.Get(HeaderACR), AMR: strings.Fields(r.Header.Get(HeaderAMR))}
	if sec, err := strconv.ParseInt(r.Header.Get(HeaderAuthTime), 10, 64); err == nil {
		id.AuthTime = time.Unix(sec, 0)
	}
	return id
}

// Age is how long ago the user last authenticated at the IdP.
func (id *Identity) Age(now time.Time) time.Duration {
	if id == nil || id.AuthTime.IsZero() {
		return 0
	}
	return now.Sub(id.AuthTime).Round(time.Second)
}
