package stepup

import "crypto/subtle"

// constantTimeEqual compares two secrets (a state, a token, a hash) in
// time that does not depend on where they differ.
func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
