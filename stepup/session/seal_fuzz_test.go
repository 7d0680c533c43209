package session

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

// FuzzSealerOpen opens arbitrary cookie values, as any client may send: it
// never panics, fails only with ErrSealed, and a value that does open is
// bound to its purpose and to this provider and client.
func FuzzSealerOpen(f *testing.F) {
	ring := fuzzRing(f)
	s := NewSealer(ring, fuzzBinding)
	other := NewSealer(ring, "https://other-idp.example\x00edge")
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, value string) {
		plain, err := s.Open(ctx, sessionPurpose, value)
		if err != nil {
			if !errors.Is(err, ErrSealed) {
				t.Fatalf("open failed with %v, want ErrSealed", err)
			}
			return
		}
		if _, err := s.Open(ctx, flowPurpose, value); err == nil {
			t.Fatal("a session value also opens as a flow value")
		}
		if _, err := other.Open(ctx, sessionPurpose, value); err == nil {
			t.Fatal("a value bound to one provider opens for another")
		}
		resealed, err := s.Seal(ctx, sessionPurpose, plain)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := s.Open(ctx, sessionPurpose, resealed); err != nil || !bytes.Equal(again, plain) {
			t.Fatalf("re-sealed value does not open to the same plaintext: %v", err)
		}
	})
}

// FuzzSealerRejectsMutations seals a plaintext and then changes the sealed
// bytes: a flipped bit anywhere, a cut, an extra byte, a rotation. None of
// them may open. Edits to the base64 text may only open when they decode to
// the very same bytes (base64's unused trailing bits).
func FuzzSealerRejectsMutations(f *testing.F) {
	s := fuzzSealer(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, plaintext []byte, at uint16, xor byte, cut uint16) {
		sealed, err := s.Seal(ctx, sessionPurpose, plaintext)
		if err != nil {
			t.Fatal(err)
		}
		if len(sealed) > MaxSealedLen {
			if _, err := s.Open(ctx, sessionPurpose, sealed); err == nil {
				t.Fatalf("opened a %d-byte value, over the %d-byte bound", len(sealed), MaxSealedLen)
			}
			return
		}
		got, err := s.Open(ctx, sessionPurpose, sealed)
		if err != nil || !bytes.Equal(got, plaintext) {
			t.Fatalf("sealed value does not open to its plaintext: %v", err)
		}
		if _, err := s.Open(ctx, flowPurpose, sealed); err == nil {
			t.Fatal("opened under another purpose")
		}
		raw, err := base64.RawURLEncoding.DecodeString(sealed)
		if err != nil {
			t.Fatal(err)
		}
		mustNotOpen := func(what string, b []byte) {
			t.Helper()
			if bytes.Equal(b, raw) {
				return
			}
			if _, err := s.Open(ctx, sessionPurpose, base64.RawURLEncoding.EncodeToString(b)); err == nil {
				t.Fatalf("%s seal opened: %x", what, b)
			}
		}
		if xor != 0 {
			b := slices.Clone(raw)
			b[int(at)%len(b)] ^= xor
			mustNotOpen("bit-flipped", b)
		}
		mustNotOpen("truncated", raw[:int(cut)%len(raw)])
		mustNotOpen("extended", append(slices.Clone(raw), xor))
		if k := int(at) % len(raw); k != 0 {
			mustNotOpen("rotated", append(slices.Clone(raw[k:]), raw[:k]...))
		}

		edited := []byte(sealed)
		edited[int(cut)%len(edited)] = xor
		if string(edited) == sealed {
			return
		}
		if got, err := s.Open(ctx, sessionPurpose, string(edited)); err == nil {
			b, derr := base64.RawURLEncoding.DecodeString(string(edited))
			if derr != nil || !bytes.Equal(b, raw) || !bytes.Equal(got, plaintext) {
				t.Fatalf("edited text %q opened to different bytes", edited)
			}
		}
	})
}

func sealerOpenSeeds(t *testing.T) []fuzzSeed {
	ctx := context.Background()
	s := fuzzSealer(t)
	seal := func(purpose string, plain []byte) string {
		v, err := s.Seal(ctx, purpose, plain)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	session, err := marshal(sessionSeeds()["basic"])
	if err != nil {
		t.Fatal(err)
	}
	valid := seal(sessionPurpose, session)
	foreign, err := NewSealer(NewKeyring(testStorage(t), 24*time.Hour, func() time.Time { return fuzzEpoch }), fuzzBinding).
		Seal(ctx, sessionPurpose, session)
	if err != nil {
		t.Fatal(err)
	}
	return []fuzzSeed{
		{"valid-session", []any{valid}},
		{"valid-empty-plaintext", []any{seal(sessionPurpose, nil)}},
		{"flow-purpose", []any{seal(flowPurpose, session)}},
		{"other-binding", []any{must(NewSealer(s.ring, "https://other-idp.example\x00edge").Seal(ctx, sessionPurpose, session))}},
		{"foreign-key", []any{foreign}},
		{"truncated", []any{valid[:len(valid)-3]}},
		{"quoted", []any{`"` + valid + `"`}},
		{"std-base64-padding", []any{base64.StdEncoding.EncodeToString([]byte("0123456789abcdefghijklmnopqrstuvwxyz"))}},
		{"not-base64", []any{"%%%" + valid}},
		{"oversized", []any{strings.Repeat("A", MaxSealedLen+1)}},
		{"empty", []any{""}},
	}
}

func sealerOpenAccepts(t *testing.T, args []any) bool {
	_, err := fuzzSealer(t).Open(context.Background(), sessionPurpose, args[0].(string))
	return err == nil
}

func sealerMutationSeeds(t *testing.T) []fuzzSeed {
	session, err := marshal(sessionSeeds()["step-up-with-risk-baseline"])
	if err != nil {
		t.Fatal(err)
	}
	return []fuzzSeed{
		{"session-flip-tag", []any{session, uint16(0xffff), byte(0x01), uint16(7)}},
		{"session-flip-key-id", []any{session, uint16(0), byte(0x80), uint16(0)}},
		{"empty-flip-nonce", []any{[]byte{}, uint16(keyIDLen), byte(0xff), uint16(31)}},
		{"flow-json", []any{[]byte(`{"s":"state","n":"nonce","v":"verifier","r":"/","u":"admin","m":-1,"t":1800000000}`), uint16(40), byte(0x20), uint16(64)}},
		{"largest-that-opens", []any{make([]byte, MaxSealedLen*3/4-keyIDLen-nonceLen-tagLen), uint16(1000), byte(1), uint16(3000)}},
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
