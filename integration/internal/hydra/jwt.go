package hydra

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// DecodeJWT splits a compact JWS into its header and claims without
// verifying the signature (tests check what Hydra put into tokens; the
// plugin under test does the verifying).
func DecodeJWT(t testing.TB, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWT (%d parts): %.40q", len(parts), token)
	}
	decode := func(part string, into *map[string]any) {
		b, err := base64.RawURLEncoding.DecodeString(part)
		if err != nil {
			t.Fatalf("JWT part: %v", err)
		}
		if err := json.Unmarshal(b, into); err != nil {
			t.Fatalf("JWT part %s: %v", b, err)
		}
	}
	decode(parts[0], &header)
	decode(parts[1], &claims)
	return header, claims
}
