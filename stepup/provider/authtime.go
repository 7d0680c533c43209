package provider

import (
	"errors"
	"time"
)

// ErrAuthTimeFuture refuses a token that says the user authenticated later
// than now (beyond ClockSkew): taken at its word, such an auth_time would
// keep satisfying every max_age rule for as long as it lies ahead.
var ErrAuthTimeFuture = errors.New("auth_time is in the future")

// AuthTime reads an auth_time claim (unix seconds, as IDToken and
// AccessToken carry it) at now, the caller's clock. Absent gives the zero
// time. A value up to ClockSkew ahead of now is a clock
// difference and is clamped to now; a value further ahead is refused.
func AuthTime(claim *int64, now time.Time) (time.Time, error) {
	if claim == nil {
		return time.Time{}, nil
	}
	t := time.Unix(*claim, 0)
	if t.After(now.Add(ClockSkew)) {
		return time.Time{}, ErrAuthTimeFuture
	}
	if t.After(now) {
		t = now
	}
	return t, nil
}
