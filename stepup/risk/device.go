package risk

import (
	"crypto/rand"
	"encoding/base64"
)

// DeviceCookieName names the long-lived cookie that identifies a browser.
// The handler adds the __Host- prefix on HTTPS.
const DeviceCookieName = "stepup_device"

// deviceIDLen is the length of a NewDeviceID value: 16 bytes in unpadded
// base64url.
const deviceIDLen = 22

// NewDeviceID returns a fresh device identifier: 128 random bits, base64url
// without padding (22 characters).
func NewDeviceID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails; the runtime aborts if the system source does
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ValidDeviceID reports whether s has the form NewDeviceID produces, so a
// handler can replace a cookie it did not mint.
func ValidDeviceID(s string) bool {
	if len(s) != deviceIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// DeviceHash identifies a device: its device cookie plus a fingerprint of
// the User-Agent header and the Sec-CH-UA-Platform client hint (pass "" when
// absent). It is 0 when there is no device cookie, otherwise never 0. It is
// stable across processes and replicas (FNV-1a, no random seed), so a value
// recorded at login on one replica compares equal on another. It allocates
// nothing.
func DeviceHash(cookie, userAgent, platformHint string) uint64 {
	if cookie == "" {
		return 0
	}
	h := uint64(fnvOffset)
	for _, s := range [...]string{cookie, userAgent, platformHint} {
		// Length-prefixed, so that moving bytes between fields changes the hash.
		n := len(s)
		for range 4 {
			h = (h ^ uint64(n&0xff)) * fnvPrime
			n >>= 8
		}
		for i := 0; i < len(s); i++ {
			h = (h ^ uint64(s[i])) * fnvPrime
		}
	}
	if h == 0 {
		return 1
	}
	return h
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)
