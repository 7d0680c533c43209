package session

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/testclock"
	"github.com/caddy-stepup/caddy-stepup/stepup/risk"
)

func TestSessionRoundTripsThroughTheCodec(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	in := &Session{
		Subject: "alice", ACR: "urn:stepup:mfa", AMR: []string{"pwd", "otp"},
		AuthTime: now.Add(-time.Minute), Issued: now, Expires: now.Add(12 * time.Hour),
		LoginRule: "admin", FreshSpent: true,
		HasLogin: true, Login: risk.Recorded{Country: [2]byte{'G', 'B'}, ASN: 64512, Device: 0xdeadbeefcafe, Lat: 51.5142, Lon: -0.0931, Radius: 100, At: now.Unix()},
	}
	raw, err := marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := unmarshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip changed the session:\n in  %+v\n out %+v", in, out)
	}
}

func TestSessionCodecRefusesMalformedInput(t *testing.T) {
	good, err := marshal(&Session{Subject: "alice", ACR: "a", Expires: time.Unix(1_800_000_000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"empty":          nil,
		"wrong version":  append([]byte{9}, good[1:]...),
		"truncated":      good[:len(good)-2],
		"trailing bytes": append(append([]byte{}, good...), 0),
		"unknown flag":   append(append([]byte{}, good[:len(good)-1]...), 0x80),
		"huge length":    {sessionCodecVersion, 1, 1, 1, 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			if s, err := unmarshal(raw); err == nil {
				t.Fatalf("accepted %x as %+v", raw, s)
			}
		})
	}
}

func TestSessionCodecRefusesOversizedClaims(t *testing.T) {
	cases := map[string]*Session{
		"no subject":   {ACR: "a"},
		"long subject": {Subject: strings.Repeat("s", MaxClaimLen+1)},
		"long acr":     {Subject: "s", ACR: strings.Repeat("a", MaxClaimLen+1)},
		"many amr":     {Subject: "s", AMR: make([]string, MaxAMR+1)},
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := marshal(s); err == nil {
				t.Fatal("encoded an out-of-bounds session")
			}
		})
	}
}

// The session cookie travels with every request; issue 7 caps it at 300
// bytes. A realistic worst case: a UUID subject, URN acr, three methods.
func TestRealisticSessionCookieStaysUnder300Bytes(t *testing.T) {
	ctx := context.Background()
	c := testclock.New(time.Unix(1_800_000_000, 0))
	s := NewSealer(NewKeyring(testStorage(t), time.Hour, c.Now), "b")
	now := c.Now()
	raw, err := marshal(&Session{
		Subject: "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", ACR: "urn:mace:incommon:iap:silver:mfa",
		AMR: []string{"pwd", "otp", "hwk"}, AuthTime: now, Issued: now, Expires: now.Add(12 * time.Hour),
		LoginRule: "payments_admin",
		HasLogin:  true, Login: risk.Recorded{Country: [2]byte{'D', 'E'}, ASN: 4_200_000_000, Device: ^uint64(0), Lat: -33.8688, Lon: 151.2093, Radius: 1000, At: now.Unix()},
	})
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal(ctx, sessionPurpose, raw)
	if err != nil {
		t.Fatal(err)
	}
	cookie := "__Host-stepup=" + sealed
	t.Logf("session cookie: %d bytes (%d plaintext)", len(cookie), len(raw))
	if len(cookie) > 300 {
		t.Fatalf("session cookie is %d bytes, budget 300", len(cookie))
	}
}
