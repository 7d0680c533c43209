package stepup

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
	// maxSealedLen bounds what we try to decode; browsers cap a cookie at 4 KiB.
	maxSealedLen = 4096
)

var errSealed = errors.New("cookie does not open")

// sealer encrypts and authenticates cookie values with the keyring.
type sealer struct {
	ring *keyring
	aad  string // provider and client binding, see newSealer

	// The additional data of our purposes, built once: the session cookie
	// is opened on every request a rule covers (issue 7 counts allocations).
	aads map[string][]byte

	// bufs recycles the buffers session cookies are decoded and decrypted
	// in (see openTo), so that opening one allocates nothing.
	bufs sync.Pool // *[openBufLen]byte
}

// openBufLen fits any session cookie (at most ~300 bytes encoded, 225
// decoded); longer values are opened in a buffer of their own.
const openBufLen = 512

func newSealer(ring *keyring, binding string) *sealer {
	s := &sealer{ring: ring, aad: binding, aads: map[string][]byte{}}
	for _, purpose := range []string{sessionPurpose, flowPurpose} {
		s.aads[purpose] = []byte(purpose + "\x00" + binding)
	}
	s.bufs.New = func() any { return new([openBufLen]byte) }
	return s
}

func (s *sealer) seal(ctx context.Context, purpose string, plaintext []byte) (string, error) {
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

// open authenticates and decrypts value. Any failure is errSealed or a
// storage error, never a panic: values come straight from clients.
func (s *sealer) open(ctx context.Context, purpose, value string) ([]byte, error) {
	return s.openTo(ctx, nil, purpose, value)
}

// openTo is open decoding and decrypting in buf when value fits there (the
// plaintext then aliases buf), else in a new buffer. See buffer.
func (s *sealer) openTo(ctx context.Context, buf []byte, purpose, value string) ([]byte, error) {
	if len(value) > maxSealedLen {
		return nil, errSealed
	}
	n := base64.RawURLEncoding.DecodedLen(len(value))
	if n > len(buf) {
		buf = make([]byte, n)
	}
	n, err := base64.RawURLEncoding.Decode(buf, []byte(value))
	raw := buf[:n]
	if err != nil || len(raw) < keyIDLen+nonceLen+tagLen {
		return nil, errSealed
	}
	aead, err := s.ring.keyFor(ctx, binary.BigEndian.Uint32(raw))
	if errors.Is(err, errUnknownKey) {
		return nil, errSealed
	}
	if err != nil {
		return nil, err
	}
	nonce := raw[keyIDLen : keyIDLen+nonceLen]
	plain, err := aead.Open(raw[keyIDLen+nonceLen:keyIDLen+nonceLen], nonce, raw[keyIDLen+nonceLen:], s.additional(purpose))
	if err != nil {
		return nil, errSealed
	}
	return plain, nil
}

func (s *sealer) additional(purpose string) []byte {
	if aad, ok := s.aads[purpose]; ok {
		return aad
	}
	return []byte(purpose + "\x00" + s.aad)
}

// buffer lends a buffer for openTo; give it back with release once nothing
// refers to the plaintext any more.
func (s *sealer) buffer() *[openBufLen]byte { return s.bufs.Get().(*[openBufLen]byte) }

func (s *sealer) release(b *[openBufLen]byte) { s.bufs.Put(b) }
