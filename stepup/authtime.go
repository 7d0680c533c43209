package stepup

import (
	"errors"
	"time"
)

// errAuthTimeFuture refuses a token that says the user authenticated later
// than now (beyond clockSkew): taken at its word, such an auth_time would
// keep satisfying every max_age rule for as long as it lies ahead.
var errAuthTimeFuture = errors.New("auth_time is in the future")

// authTimeOf reads an auth_time claim (unix seconds) at now. Absent gives
// the zero time. A value up to clockSkew ahead of now is a clock
// difference and is clamped to now; a value further ahead is refused.
func authTimeOf(claim *int64, now time.Time) (time.Time, error) {
	if claim == nil {
		return time.Time{}, nil
	}
	t := time.Unix(*claim, 0)
	if t.After(now.Add(clockSkew)) {
		return time.Time{}, errAuthTimeFuture
	}
	if t.After(now) {
		t = now
	}
	return t, nil
}
