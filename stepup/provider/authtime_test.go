package provider

import (
	"errors"
	"testing"
	"time"
)

func TestAuthTimeInTheFutureIsRefusedAndSkewIsClamped(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	at := func(d time.Duration) *int64 { v := now.Add(d).Unix(); return &v }
	for _, tc := range []struct {
		name  string
		claim *int64
		want  time.Time
		err   error
	}{
		{"absent", nil, time.Time{}, nil},
		{"past", at(-time.Hour), now.Add(-time.Hour), nil},
		{"now", at(0), now, nil},
		{"within the skew is now", at(ClockSkew), now, nil},
		{"beyond the skew", at(ClockSkew + time.Second), time.Time{}, ErrAuthTimeFuture},
		{"an hour ahead", at(time.Hour), time.Time{}, ErrAuthTimeFuture},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AuthTime(tc.claim, now)
			if !errors.Is(err, tc.err) || !got.Equal(tc.want) {
				t.Fatalf("got %v, %v; want %v, %v", got, err, tc.want, tc.err)
			}
		})
	}
}
