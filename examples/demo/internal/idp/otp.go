package idp

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
	"math/big"
	"time"
)

// oneTimeCode is the demo's second factor: six digits "sent" to the user,
// which here means printed on the demo's console (see Config.DeliverCode).
// A real OP would use TOTP, WebAuthn or a message to a registered device.
type oneTimeCode struct {
	user    string // the code proves this user holds the device, no one else
	value   string
	expires time.Time
}

// CodeLifetime bounds how long a one-time code may be typed in.
const CodeLifetime = 5 * time.Minute

// maxFailures ends an authorization request after this many wrong passwords
// or codes: with six digits, unlimited guesses would make the factor moot.
const maxFailures = 5

func newOneTimeCode(user string, now time.Time) (*oneTimeCode, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return nil, fmt.Errorf("one-time code: %w", err)
	}
	return &oneTimeCode{user: user, value: fmt.Sprintf("%06d", n.Int64()), expires: now.Add(CodeLifetime)}, nil
}

// valid reports whether the code can still be typed in by user.
func (c *oneTimeCode) valid(user string, now time.Time) bool {
	return c != nil && c.user == user && !now.After(c.expires)
}

func (c *oneTimeCode) matches(user, typed string, now time.Time) bool {
	if !c.valid(user, now) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(typed), []byte(c.value)) == 1
}
