package session

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"sync"
)

// Sealed cookie layout, before base64url: key id (4) | nonce (12) | AES-GCM
// ciphertext and tag. The additional data binds a value to its purpose and to
// this handler's provider and client, so a flow cookie is never a session
// cookie and a cookie from another configuration does not open here.
const (
	keyIDLen = 4
	nonceLen = 12
	tagLen   = 16
	// MaxSealedLen bounds what Open tries to decode; browsers cap a cookie
	// at 4 KiB.
	MaxSealedLen = 4096
)

// ErrSealed is the error of a value that does not open: tampered,
// truncated, foreign, or sealed with a retired key.
var ErrSealed = errors.New("cookie does not open")

// Sealer encrypts and authenticates cookie values with the keyring.
type Sealer struct {
	ring *Keyring
	aad  string // provider and client binding, see NewSealer

	// The additional data of the hot purposes, built once: the session
	// cookie is opened on every request a rule covers (issue 7 counts
	// allocations).
	aads map[string][]byte

	// bufs recycles the buffers session cookies are decoded and decrypted
	// in (see openTo), so that opening one allocates nothing.
	bufs sync.Pool // *[openBufLen]byte
}

// openBufLen fits any session cookie (at most ~300 bytes encoded, 225
// decoded); longer values are opened in a buffer of their own.
const openBufLen = 512

// NewSealer returns a sealer whose values open only with binding (the
// provider and client) and their purpose; hot lists the purposes besides
// the session's whose additional data is built once, up front.
func NewSealer(ring *Keyring, binding string, hot ...string) *Sealer {
	s := &Sealer{ring: ring, aad: binding, aads: map[string][]byte{}}
	for _, purpose := range append([]string{sessionPurpose}, hot...) {
		s.aads[purpose] = []byte(purpose + "\x00" + binding)
	}
	s.bufs.New = func() any { return new([openBufLen]byte) }
	return s
}

// Seal encrypts plaintext for purpose with the current key.
func (s *Sealer) Seal(ctx context.Context, purpose string, plaintext []byte) (string, error) {
	set, err := s.ring.keys(ctx)
	if err != nil {
		return "", err
	}
	aead := set.aeads[set.current]
	buf := make([]byte, keyIDLen+nonceLen, keyIDLen+nonceLen+len(plaintext)+tagLen)
	binary.BigEndian.PutUint32(buf, set.current)
	rand.Read(buf[keyIDLen:])
	buf = aead.Seal(buf, buf[keyIDLen:keyIDLen+nonceLen], plaintext, s.additional(purpose))
	return base64.RawURLEncoding.EncodeToString(buf), nil
}

// Open authenticates and decrypts value. Any failure is ErrSealed or a
// storage error, never a panic: values come straight from clients.
func (s *Sealer) Open(ctx context.Context, purpose, value string) ([]byte, error) {
	return s.openTo(ctx, nil, purpose, value)
}

// openTo is Open decoding and decrypting in buf when value fits there (the
// plaintext then aliases buf), else in a new buffer. See buffer.
func (s *Sealer) openTo(ctx context.Context, buf []byte, purpose, value string) ([]byte, error) {
	if len(value) > MaxSealedLen {
		return nil, ErrSealed
	}
	n := base64.RawURLEncoding.DecodedLen(len(value))
	if n > len(buf) {
		buf = make([]byte, n)
	}
	n, err := base64.RawURLEncoding.Decode(buf, []byte(value))
	if err != nil {
		return nil, ErrSealed
	}
	return s.openRaw(ctx, buf[:n], purpose)
}

// OpenLarge is Open for sealed values bigger than a cookie (a held form,
// read from our own storage, bounded by its caller), which Open refuses.
func (s *Sealer) OpenLarge(ctx context.Context, purpose, value string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return nil, ErrSealed
	}
	return s.openRaw(ctx, raw, purpose)
}

// openRaw decrypts raw (a decoded sealed value) in place.
func (s *Sealer) openRaw(ctx context.Context, raw []byte, purpose string) ([]byte, error) {
	if len(raw) < keyIDLen+nonceLen+tagLen {
		return nil, ErrSealed
	}
	aead, err := s.ring.keyFor(ctx, binary.BigEndian.Uint32(raw))
	if errors.Is(err, errUnknownKey) {
		return nil, ErrSealed
	}
	if err != nil {
		return nil, err
	}
	nonce := raw[keyIDLen : keyIDLen+nonceLen]
	plain, err := aead.Open(raw[keyIDLen+nonceLen:keyIDLen+nonceLen], nonce, raw[keyIDLen+nonceLen:], s.additional(purpose))
	if err != nil {
		return nil, ErrSealed
	}
	return plain, nil
}

func (s *Sealer) additional(purpose string) []byte {
	if aad, ok := s.aads[purpose]; ok {
		return aad
	}
	return []byte(purpose + "\x00" + s.aad)
}

// buffer lends a buffer for openTo; give it back with release once nothing
// refers to the plaintext any more.
func (s *Sealer) buffer() *[openBufLen]byte { return s.bufs.Get().(*[openBufLen]byte) }

func (s *Sealer) release(b *[openBufLen]byte) { s.bufs.Put(b) }
