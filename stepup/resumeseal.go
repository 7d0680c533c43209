package stepup

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
)

// openLarge is open for sealed values bigger than a cookie (a held form,
// read from our own storage, bounded by its caller), which open refuses.
func (s *sealer) openLarge(ctx context.Context, purpose, value string) ([]byte, error) {
	raw, err := base64.RawURLEncoding.DecodeString(value)
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
	plain, err := aead.Open(nil, raw[keyIDLen:keyIDLen+nonceLen], raw[keyIDLen+nonceLen:], s.additional(purpose))
	if err != nil {
		return nil, errSealed
	}
	return plain, nil
}
