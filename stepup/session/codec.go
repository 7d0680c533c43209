package session

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/risk"
)

// The binary layout is versioned so that a cookie minted by a newer replica
// is rejected cleanly (as "no session") instead of being misread.
const sessionCodecVersion = 1

// Bounds keep a cookie well under the size budget whatever the IdP returns;
// the handler refuses claims beyond them at login.
const (
	MaxClaimLen = 255
	MaxAMR      = 8
)

// Flag bits of the session layout.
const (
	flagFreshSpent byte = 1 << iota
	flagRiskLogin       // the risk baseline follows the flags byte
	flagSID             // the IdP session id follows (after the baseline)
	knownFlags     = flagFreshSpent | flagRiskLogin | flagSID
)

// ErrFormat is the error of a session cookie that opened but does not
// decode: another codec version, or a bug.
var ErrFormat = errors.New("malformed session")

// marshal encodes s compactly: times as unix seconds in varints,
// strings length-prefixed.
func marshal(s *Session) ([]byte, error) {
	if len(s.Subject) == 0 || len(s.Subject) > MaxClaimLen {
		return nil, fmt.Errorf("session: subject length %d out of range 1..%d", len(s.Subject), MaxClaimLen)
	}
	if len(s.ACR) > MaxClaimLen || len(s.LoginRule) > MaxClaimLen || len(s.SID) > MaxClaimLen {
		return nil, fmt.Errorf("session: acr, rule or sid longer than %d bytes", MaxClaimLen)
	}
	if len(s.AMR) > MaxAMR {
		return nil, fmt.Errorf("session: %d amr values, at most %d", len(s.AMR), MaxAMR)
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
		if len(m) > MaxClaimLen {
			return nil, fmt.Errorf("session: amr value longer than %d bytes", MaxClaimLen)
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

// unmarshal is the inverse of marshal. It never panics on
// hostile input (it is fuzzed) and rejects trailing bytes.
//
// It runs on every request a rule covers, so it allocates twice: b copied
// once into a string that every string field is cut from, and the session
// laid out together with its amr values.
func unmarshal(b []byte) (*Session, error) {
	if len(b) == 0 || b[0] != sessionCodecVersion {
		return nil, ErrFormat
	}
	d := decoder{b: b, text: string(b)}
	d.byte()
	var s *Session
	expires, authTime, issued := d.time(), d.time(), d.time()
	subject, acr := d.string(), d.string()
	n := d.uvarint()
	if n > MaxAMR {
		return nil, ErrFormat
	}
	if n > 0 {
		both := &sessionAndAMR{}
		s = &both.s
		s.AMR = both.amr[:0:n]
		for range n {
			s.AMR = append(s.AMR, d.string())
		}
	} else {
		s = &Session{}
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
		return nil, ErrFormat
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
// allocation (see unmarshal).
type sessionAndAMR struct {
	s   Session
	amr [MaxAMR]string
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
	if n > MaxClaimLen || n > uint64(len(d.b)) {
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
