package session

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/internal/testclock"
)

func TestSealedValueOpensOnlyForItsPurposeAndBinding(t *testing.T) {
	ctx := context.Background()
	c := testclock.New(time.Unix(1_800_000_000, 0))
	ring := NewKeyring(testStorage(t), 24*time.Hour, c.Now)
	s := NewSealer(ring, "https://idp\x00client")
	sealed, err := s.Seal(ctx, sessionPurpose, []byte("claims"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Open(ctx, sessionPurpose, sealed); err != nil || string(got) != "claims" {
		t.Fatalf("open = %q, %v", got, err)
	}
	if _, err := s.Open(ctx, flowPurpose, sealed); err == nil {
		t.Fatal("a session value opened as a flow value")
	}
	other := NewSealer(ring, "https://other-idp\x00client")
	if _, err := other.Open(ctx, sessionPurpose, sealed); err == nil {
		t.Fatal("a value bound to one provider opened for another")
	}
}

func TestSealedValueRefusesTampering(t *testing.T) {
	ctx := context.Background()
	c := testclock.New(time.Unix(1_800_000_000, 0))
	s := NewSealer(NewKeyring(testStorage(t), 24*time.Hour, c.Now), "b")
	sealed, err := s.Seal(ctx, sessionPurpose, []byte("claims of a session"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(sealed)
	flip := func(i int) string {
		b := append([]byte{}, raw...)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	swapped := append(append([]byte{}, raw[:keyIDLen+nonceLen]...), raw[len(raw)-tagLen:]...)
	swapped = append(swapped, raw[keyIDLen+nonceLen:len(raw)-tagLen]...)
	cases := map[string]string{
		"flipped ciphertext bit": flip(keyIDLen + nonceLen + 1),
		"flipped nonce bit":      flip(keyIDLen),
		"flipped key id":         flip(0),
		"truncated":              sealed[:len(sealed)-5],
		"re-ordered":             base64.RawURLEncoding.EncodeToString(swapped),
		"not base64":             "%%%" + sealed,
		"empty":                  "",
		"oversized":              string(make([]byte, MaxSealedLen+1)),
	}
	for name, v := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := s.Open(ctx, sessionPurpose, v); err == nil {
				t.Fatal("tampered value opened")
			}
		})
	}
}

func TestCookieFromAnotherStorageKeyDoesNotOpen(t *testing.T) {
	ctx := context.Background()
	c := testclock.New(time.Unix(1_800_000_000, 0))
	mine := NewSealer(NewKeyring(testStorage(t), 24*time.Hour, c.Now), "b")
	theirs := NewSealer(NewKeyring(testStorage(t), 24*time.Hour, c.Now), "b")
	sealed, err := theirs.Seal(ctx, sessionPurpose, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mine.Open(ctx, sessionPurpose, sealed); err == nil {
		t.Fatal("a value sealed with another site's key opened")
	}
}

func TestKeysRotateAndOldKeysStillOpenUntilRetired(t *testing.T) {
	ctx := context.Background()
	c := testclock.New(time.Unix(1_800_000_000, 0))
	storage := testStorage(t)
	s := NewSealer(NewKeyring(storage, time.Hour, c.Now), "b")
	old, err := s.Seal(ctx, sessionPurpose, []byte("old"))
	if err != nil {
		t.Fatal(err)
	}
	c.Add(2 * time.Hour)
	// A second process sharing the storage rotates on first use.
	s2 := NewSealer(NewKeyring(storage, time.Hour, c.Now), "b")
	fresh, err := s2.Seal(ctx, sessionPurpose, []byte("new"))
	if err != nil {
		t.Fatal(err)
	}
	if fresh[:6] == old[:6] {
		t.Fatal("rotation did not change the key id")
	}
	if _, err := s2.Open(ctx, sessionPurpose, old); err != nil {
		t.Fatalf("a value from the previous key no longer opens: %v", err)
	}
	// The first process learns the new key when it meets it.
	if got, err := s.Open(ctx, sessionPurpose, fresh); err != nil || string(got) != "new" {
		t.Fatalf("first process cannot open the rotated key's value: %q %v", got, err)
	}
	var stored struct {
		Keys []storedKey `json:"keys"`
	}
	raw, _ := storage.Load(ctx, KeysStorageKey)
	_ = json.Unmarshal(raw, &stored)
	if len(stored.Keys) != 2 {
		t.Fatalf("want 2 keys in storage after one rotation, have %d", len(stored.Keys))
	}
	c.Add(KeyRetention + 2*time.Hour)
	s3 := NewSealer(NewKeyring(storage, time.Hour, c.Now), "b")
	if _, err := s3.Open(ctx, sessionPurpose, old); err == nil {
		t.Fatal("a value from a retired key still opens")
	}
}
