package provider

import "testing"

func TestAccessTokenTypeReadsOnlyAWellFormedHeader(t *testing.T) {
	for _, tok := range []string{"", ".", "no-dots", "!!!.x.y", "eyJ0eXAiOiJhdCtqd3QifQ", "bnVsbA.x.y"} {
		if isAccessTokenType(tok) {
			t.Errorf("%q taken for an access token", tok)
		}
	}
	if !isAccessTokenType("eyJ0eXAiOiJhdCtqd3QifQ.x.y") { // {"typ":"at+jwt"}
		t.Error("a header typed at+jwt was not recognised")
	}
}
