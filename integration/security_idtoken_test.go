package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/internal/rogueop"
)

// Attacks on the login callback through the ID token: one whose nonce is
// not this login's, and one that is forged or issued for someone else.

func TestSecurityIDTokenNoncesAreChecked(t *testing.T) {
	e := newRogueEnv(t, rogueSite{})
	for _, tc := range []struct {
		name  string
		token func(e *rogueEnv, g rogueop.Grant) string
	}{
		{"NonceOfAnotherLoginIsRefused", func(e *rogueEnv, g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).With("nonce", "n-"+g.Nonce[:20]))
		}},
		{"MissingNonceIsRefused", func(e *rogueEnv, g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).Without("nonce"))
		}},
		{"EmptyNonceIsRefused", func(e *rogueEnv, g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).With("nonce", ""))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.op.OnToken(func(g rogueop.Grant) rogueop.Reply { return rogueop.Tokens(tc.token(e, g)) })
			defer e.op.OnToken(nil)
			c := e.freshClient()
			mark, up := logMark(e.caddy), e.upstream.count()
			tr, _ := walk(t, c, e.caddy.URL()+"/", nil)
			e.assertRefusedLogin(t, c, tr, mark, up, "", refusal{status: http.StatusUnauthorized, reason: "nonce"})
		})
	}
}

func TestSecurityForgedOrForeignIDTokensAreRefused(t *testing.T) {
	e := newRogueEnv(t, rogueSite{})
	attackerRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	attackerEC, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		token  func(g rogueop.Grant) string
		detail string // what the log's error must mention; "" for a control
	}{
		// Controls: the same flow with an honest token logs in, so each
		// refusal below is down to the one thing the attack changed.
		{"ControlValidRS256IsAccepted", func(g rogueop.Grant) string { return e.op.SignRS256(e.op.Claims(g)) }, ""},
		{"ControlValidES256IsAccepted", func(g rogueop.Grant) string { return e.op.SignES256(e.op.Claims(g)) }, ""},

		{"AlgNoneIsRefused", func(g rogueop.Grant) string { return rogueop.Unsigned(e.op.Claims(g)) }, "malformed jwt"},
		{"AlgNoneWithThePublishedKidIsRefused", func(g rogueop.Grant) string {
			tok := rogueop.Unsigned(e.op.Claims(g))
			return reheader(t, tok, map[string]any{"alg": "none", "kid": e.op.RSAKeyID()})
		}, "malformed jwt"},
		{"BadRS256SignatureIsRefused", func(g rogueop.Grant) string {
			return rogueop.SignRS256(attackerRSA, e.op.RSAKeyID(), e.op.Claims(g))
		}, "failed to verify signature"},
		{"RS256PayloadSwappedUnderAValidSignatureIsRefused", func(g rogueop.Grant) string {
			honest := e.op.SignRS256(e.op.Claims(g))
			forged := e.op.SignRS256(e.op.Claims(g).With("sub", "admin"))
			return splice(honest, forged)
		}, "failed to verify signature"},
		{"BadES256SignatureIsRefused", func(g rogueop.Grant) string {
			return rogueop.SignES256(attackerEC, e.op.ECKeyID(), e.op.Claims(g))
		}, "failed to verify signature"},
		{"RS256SignedWithAnUnpublishedKidIsRefused", func(g rogueop.Grant) string {
			return rogueop.SignRS256(attackerRSA, "attacker-kid", e.op.Claims(g))
		}, "failed to verify signature"},
		{"HS256KeyedWithTheRSAPublicKeyPEMIsRefused", func(g rogueop.Grant) string {
			return rogueop.SignHS256(e.op.RSAPublicKeyPEM(), e.op.RSAKeyID(), e.op.Claims(g))
		}, "malformed jwt"},
		{"HS256KeyedWithTheRSAPublicJWKIsRefused", func(g rogueop.Grant) string {
			jwk, _ := json.Marshal(e.op.RSAPublicJWK())
			return rogueop.SignHS256(jwk, e.op.RSAKeyID(), e.op.Claims(g))
		}, "malformed jwt"},
		{"WrongIssuerIsRefused", func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).With("iss", "https://evil.example"))
		}, "issued by a different provider"},
		{"IssuerWithATrailingSlashIsRefused", func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).With("iss", e.op.Issuer()+"/"))
		}, "issued by a different provider"},
		{"WrongAudienceIsRefused", func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).With("aud", []string{"another-client"}))
		}, "expected audience"},
		{"MissingAudienceIsRefused", func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).Without("aud"))
		}, "expected audience"},
		{"MissingSubIsRefused", func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).Without("sub"))
		}, "without sub or iat"},
		{"EmptySubIsRefused", func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).With("sub", ""))
		}, "without sub or iat"},
		{"MissingIatIsRefused", func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).Without("iat"))
		}, "without sub or iat"},
		{"ExpiredIsRefused", func(g rogueop.Grant) string {
			past := time.Now().Add(-time.Hour).Unix()
			return e.op.SignRS256(e.op.Claims(g).With("iat", past-300).With("exp", past))
		}, "expired"},
		{"MissingExpIsRefused", func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).Without("exp"))
		}, "expired"},
		{"NotYetValidIsRefused", func(g rogueop.Grant) string {
			return e.op.SignRS256(e.op.Claims(g).With("nbf", time.Now().Add(time.Hour).Unix()))
		}, "nbf"},
		{"GarbageInsteadOfAJWTIsRefused", func(rogueop.Grant) string { return "not.a.jwt" }, "malformed jwt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.op.OnToken(func(g rogueop.Grant) rogueop.Reply { return rogueop.Tokens(tc.token(g)) })
			defer e.op.OnToken(nil)
			c := e.freshClient()
			mark, up := logMark(e.caddy), e.upstream.count()
			tr, _ := walk(t, c, e.caddy.URL()+"/", nil)
			if tc.detail == "" {
				if got := tr.last(); got.status != http.StatusOK || !tr.minted() {
					t.Fatalf("an honest token was refused: %d %s", got.status, truncate(got.body))
				}
				return
			}
			e.assertRefusedLogin(t, c, tr, mark, up, "", refusal{status: http.StatusUnauthorized, reason: "token", detail: tc.detail})
		})
	}
}

// flip returns a different base64url character.
func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// splice puts forged's payload under honest's header and signature.
func splice(honest, forged string) string {
	h := strings.Split(honest, ".")
	f := strings.Split(forged, ".")
	return h[0] + "." + f[1] + "." + h[2]
}

// reheader replaces a compact JWT's header.
func reheader(t *testing.T, tok string, header map[string]any) string {
	t.Helper()
	b, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.SplitN(tok, ".", 2)
	return b64url(b) + "." + parts[1]
}
