package stepup

import (
	"bufio"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/stepup/decision"
)

// FuzzAuthenticateHeader renders RFC 9470 challenges from arbitrary error
// codes, descriptions and acr values (a description can quote a claim the IdP
// sent). The result is one header field value that net/http reads back
// unchanged, of the form `Bearer name="…", …, max_age=N` with balanced quotes
// and only the characters RFC 6750 allows inside them; the parameters appear
// in order, and a value that was already clean is kept verbatim.
func FuzzAuthenticateHeader(f *testing.F) {
	f.Fuzz(func(t *testing.T, code, description, acr string, maxAgeSec uint32, hasMaxAge bool) {
		var acrs []string
		if acr != "" {
			acrs = strings.Split(acr, ",")
		}
		var maxAge *time.Duration
		if hasMaxAge {
			d := time.Duration(maxAgeSec) * time.Second
			maxAge = &d
		}
		req := decision.NewRequirement("rule", acrs, nil, maxAge, nil)
		header := authenticateHeader(code, description, req)

		for i := 0; i < len(header); i++ {
			if c := header[i]; c < 0x20 || c > 0x7e {
				t.Fatalf("byte %#x at %d in %q", c, i, header)
			}
		}
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(
			"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: "+header+"\r\nContent-Length: 0\r\n\r\n")), nil)
		if err != nil {
			t.Fatalf("%q does not read back as a header: %v", header, err)
		}
		if got := resp.Header.Values("WWW-Authenticate"); len(got) != 1 || got[0] != header {
			t.Fatalf("read back %q, want [%q]", got, header)
		}

		params := parseChallenge(t, header)
		want := []string{"error", code, "error_description", description}
		if req.ACRValues != "" {
			want = append(want, "acr_values", req.ACRValues)
		}
		if hasMaxAge {
			want = append(want, "max_age", strconv.FormatUint(uint64(maxAgeSec), 10))
		}
		if len(params) != len(want) {
			t.Fatalf("%q has parameters %q, want names of %q", header, params, want)
		}
		for i := 0; i < len(want); i += 2 {
			if params[i] != want[i] {
				t.Fatalf("parameter %d is %q, want %q", i/2, params[i], want[i])
			}
			if got := params[i+1]; got != keepQdtext(want[i+1]) {
				t.Fatalf("%s=%q, want %q (from %q)", want[i], got, keepQdtext(want[i+1]), want[i+1])
			}
		}
	})
}

var challengeParam = regexp.MustCompile(`^([a-z_]+)=(?:"([^"\\]*)"|([0-9]+))`)

// parseChallenge splits `Bearer a="x", b=1` into name, value pairs, failing
// the test on anything else.
func parseChallenge(t *testing.T, header string) []string {
	t.Helper()
	rest, ok := strings.CutPrefix(header, "Bearer ")
	if !ok {
		t.Fatalf("%q does not start with the Bearer scheme", header)
	}
	var out []string
	for {
		m := challengeParam.FindStringSubmatch(rest)
		if m == nil {
			t.Fatalf("%q: cannot read a parameter at %q", header, rest)
		}
		out = append(out, m[1], m[2]+m[3])
		rest = rest[len(m[0]):]
		if rest == "" {
			return out
		}
		if rest, ok = strings.CutPrefix(rest, ", "); !ok {
			t.Fatalf("%q: parameters must be separated by \", \", found %q", header, rest)
		}
	}
}

// keepQdtext keeps %x20-21 / %x23-5B / %x5D-7E: RFC 6750's error_description
// characters, which exclude the quote and the backslash.
func keepQdtext(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == 0x20 || c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func authenticateHeaderSeeds(t *testing.T) []fuzzSeed {
	return []fuzzSeed{
		{"insufficient", []any{errInsufficientAuth, "a stronger authentication is required (acr urn:otp)", "urn:otp,urn:webauthn", uint32(300), true}},
		{"invalid-token", []any{errInvalidToken, "token expired", "", uint32(0), false}},
		{"fresh-login", []any{errInsufficientAuth, "a fresh authentication is required for this request", "", uint32(0), true}},
		{"quote-breakout", []any{`x", error="forged`, "bad \"quote\" \\ and\r\nSet-Cookie: a=b\x00", "urn:a\",x", uint32(1<<32 - 1), true}},
		{"non-ascii", []any{"ünïcode", "日本語 \u2028 \x7f", "\xff\xfe", uint32(5), false}},
	}
}
