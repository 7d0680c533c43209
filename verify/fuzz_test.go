package verify

import (
	"context"
	"strings"
	"testing"
)

// FuzzVerify feeds arbitrary tokens to the verifier: it must never panic,
// and nothing may pass but the content the edge signed (the signature's
// own encoding may vary: unused base64 bits, ECDSA's (r, n-s)).
func FuzzVerify(f *testing.F) {
	e := newEdge(f)
	clock := e.now
	v := e.verifier(f, &clock)
	good := e.sign(f, e.claims(), MediaType, e.kid)
	signed := good[:strings.LastIndexByte(good, '.')+1]
	for _, seed := range []string{
		good, good[:len(good)/2], "a.b.c", "..", "", "eyJhbGciOiJub25lIn0.e30.",
		e.sign(f, e.claims(), "JWT", e.kid), e.sign(f, e.claims(), MediaType, ""),
	} {
		f.Add(seed, "POST", "https://app.example/admin/users")
	}
	f.Fuzz(func(t *testing.T, token, method, htu string) {
		c, err := v.Verify(context.Background(), token, method, htu)
		if err == nil && (!strings.HasPrefix(token, signed) || c.Subject != "alice") {
			t.Fatalf("accepted a token the edge did not sign: %q", token)
		}
	})
}
