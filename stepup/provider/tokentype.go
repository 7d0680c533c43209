package provider

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// ErrUntypedAccessToken refuses a bearer JWT whose header does not say it is
// an access token. RFC 9068 §2.1 has IdPs type JWT access tokens `at+jwt`
// precisely so that an ID token (typed `JWT` or not at all) cannot be
// replayed as one; claims alone (no nonce, no at_hash, an API audience) are
// a weaker guess, kept only behind insecure_bearer_untyped.
var ErrUntypedAccessToken = errors.New("not an access token: JWT header typ is not at+jwt (RFC 9068); for an IdP that does not type its access tokens, set insecure_bearer_untyped")

// isAccessTokenType reports whether a compact JWT's header has typ at+jwt
// or application/at+jwt (media types are case-insensitive, RFC 9068 §4).
// The header is only parsed here; the signature, which covers it, is
// checked by the verifier.
func isAccessTokenType(token string) bool {
	head, _, ok := strings.Cut(token, ".")
	if !ok || len(head) > 1024 {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return false
	}
	var h struct {
		Typ string `json:"typ"`
	}
	if json.Unmarshal(raw, &h) != nil {
		return false
	}
	typ := strings.ToLower(h.Typ)
	return typ == "at+jwt" || typ == "application/at+jwt"
}
