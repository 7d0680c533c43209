package stepup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/risk"
)

// session is what the session cookie carries: verified claims, never tokens.
// It is small on purpose; every byte travels with every request.
type session struct {
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

// valid reports whether the session can be used at all at now.
func (s *session) valid(now time.Time) bool {
	return s != nil && s.Subject != "" && now.Before(s.Expires)
}

// hasAMR reports whether every method in want was used.
func (s *session) hasAMR(want []string) bool {
	for _, m := range want {
		if !slices.Contains(s.AMR, m) {
			return false
		}
	}
	return true
}

// The binary layout is versioned so that a cookie minted by a newer replica
// is rejected cleanly (as "no session") instead of being misread.
const sessionCodecVersion = 1

// Bounds keep a cookie well under the size budget whatever the IdP returns.
const (
	maxClaimLen = 255
	maxAMR      = 8
)

// Flag bits of the session layout.
const (
	flagFreshSpent byte = 1 << iota
	flagRiskLogin       // the risk baseline follows the flags byte
	flagSID             // the IdP session id follows (after the baseline)
	knownFlags     = flagFreshSpent | flagRiskLogin | flagSID
)

var errSessionFormat = errors.New("malformed session")

// marshalSession encodes s compactly: times as unix seconds in varints,
// strings length-prefixed.
func marshalSession(s *session) ([]byte, error) {
	if len(s.Subject) == 0 || len(s.Subject) > maxClaimLen {
		return nil, fmt.Errorf("session: subject length %d out of range 1..%d", len(s.Subject), maxClaimLen)
	}
	if len(s.ACR) > maxClaimLen || len(s.LoginRule) > maxClaimLen || len(s.SID) > maxClaimLen {
		return nil, fmt.Errorf("session: acr, rule or sid longer than %d bytes", maxClaimLen)
	}
	if len(s.AMR) > maxAMR {
		return nil, fmt.Errorf("session: %d amr values, at most %d", len(s.AMR), maxAMR)
	}
	b := make([]byte, 0, 64+len(s.Subject)+len(s.ACR)+len(s.LoginRule))
	b = append(b, sessionCodecVersion)
	b = appendTime(b, s.Expires)
	b = appendTime(b, s.AuthTime)
	b = appendTime(b, s.Issued)
	b = appendString(b, s.Subject)
	b = appendString(b, s.ACR)
	b = binary.AppendUvarint(b, uint64(len(s.AMR)))
	for _, m := range s.AMR {
		if len(m) > maxClaimLen {
			return nil, fmt.Errorf("session: amr value longer than %d bytes", maxClaimLen)
		}
		b = appendString(b, m)
	}
	b = appendString(b, s.LoginRule)
	var flags byte
	if s.FreshSpent {
		flags |= flagFreshSpent
	}
	if s.HasLogin {
		flags |= flagRiskLogin
	}
	if s.SID != "" {
		flags |= flagSID
	}
	b = append(b, flags)
	if s.HasLogin {
		b, _ = s.Login.AppendBinary(b) // the risk package owns the baseline's layout
	}
	if s.SID != "" {
		b = appendString(b, s.SID)
	}
	return b, nil
}

// unmarshalSession is the inverse of marshalSession. It never panics on
// hostile input (it is fuzzed) and rejects trailing bytes.
//
// It runs on every request a rule covers, so it allocates twice: b copied
// once into a string that every string field is cut from, and the session
// laid out together with its amr values.
func unmarshalSession(b []byte) (*session, error) {
	if len(b) == 0 || b[0] != sessionCodecVersion {
		return nil, errSessionFormat
	}
	d := decoder{b: b, text: string(b)}
	d.byte()
	var s *session
	expires, authTime, issued := d.time(), d.time(), d.time()
	subject, acr := d.string(), d.string()
	n := d.uvarint()
	if n > maxAMR {
		return nil, errSessionFormat
	}
	if n > 0 {
		both := &sessionAndAMR{}
		s = &both.s
		s.AMR = both.amr[:0:n]
		for range n {
			s.AMR = append(s.AMR, d.string())
		}
	} else {
		s = &session{}
	}
	s.Expires, s.AuthTime, s.Issued = expires, authTime, issued
	s.Subject, s.ACR = subject, acr
	s.LoginRule = d.string()
	flags := d.byte()
	s.FreshSpent = flags&flagFreshSpent != 0
	if flags&flagRiskLogin != 0 {
		s.HasLogin = true
		d.recorded(&s.Login)
	}
	if flags&flagSID != 0 {
		if s.SID = d.string(); s.SID == "" {
			d.err = true
		}
	}
	if flags&^knownFlags != 0 || d.err || len(d.b) != 0 || s.Subject == "" {
		return nil, errSessionFormat
	}
	return s, nil
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendUvarint(b, 0)
	}
	return binary.AppendUvarint(b, uint64(max(t.Unix(), 0)))
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// sessionAndAMR lays a decoded session and its amr values out in one
// allocation (see unmarshalSession).
type sessionAndAMR struct {
	s   session
	amr [maxAMR]string
}

// decoder reads the session layout; the first error sticks so callers check once.
type decoder struct {
	b   []byte
	err bool

	// text, when set, holds the whole input: string fields are cut from it
	// rather than copied one by one. b is always a suffix of it.
	text string
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.err = true
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = true
		d.b = nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) time() time.Time {
	v := d.uvarint()
	if v == 0 || v > 1<<40 {
		return time.Time{}
	}
	return time.Unix(int64(v), 0)
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > maxClaimLen || n > uint64(len(d.b)) {
		d.err = true
		d.b = nil
		return ""
	}
	var s string
	if d.text != "" {
		off := len(d.text) - len(d.b)
		s = d.text[off : off+int(n)]
	} else {
		s = string(d.b[:n])
	}
	d.b = d.b[n:]
	return s
}

// recorded reads the risk baseline, whose layout the risk package owns.
func (d *decoder) recorded(r *risk.Recorded) {
	if d.err {
		return
	}
	var err error
	if *r, d.b, err = risk.ReadRecorded(d.b); err != nil {
		d.err = true
		d.b = nil
	}
}
