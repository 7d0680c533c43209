package stepup

import (
	"errors"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/provider"
)

func TestBearerTokensMustBeTypedAsAccessTokens(t *testing.T) {
	for _, tc := range []struct {
		typ  string
		pass bool
	}{
		{"at+jwt", true},
		{"application/at+jwt", true},
		{"AT+JWT", true},
		{"JWT", false},
		{"", false},
		{"at+jwt2", false},
	} {
		t.Run("typ "+tc.typ, func(t *testing.T) {
			th, idp := newBearerHandler(t)
			_, err := th.verify(t, idp.typedToken(t, tc.typ, "alice", "api", time.Hour))
			if tc.pass && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.pass && !errors.Is(err, provider.ErrUntypedAccessToken) {
				t.Fatalf("got %v, want the untyped-token refusal", err)
			}
		})
	}
}

func TestInsecureBearerUntypedAcceptsTokensTypedJWT(t *testing.T) {
	th, idp := newBearerHandler(t)
	th.InsecureBearerUntyped = true
	if _, err := th.verify(t, idp.typedToken(t, "JWT", "alice", "api", time.Hour)); err != nil {
		t.Fatalf("refused under insecure_bearer_untyped: %v", err)
	}
}
