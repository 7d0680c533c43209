package integration

import (
	"net/http"
	"strings"
	"testing"
)

// Rules use Caddy's path matcher, which lower-cases, decodes, removes dot
// segments and merges slashes before comparing. Whatever spelling of a
// protected path an attacker sends, either the request is challenged, or
// what reached the upstream is not the protected resource under that same
// normalisation. Two rule shapes: siteConfig's `match /admin*` (prefix) and
// `path /vault /vault/*` (exact path and subtree).

const vaultRule = `rule vault {
			match {
				path /vault /vault/*
			}
			acr ` + acrMFA + `
		}`

func TestSecurityPathTricksCannotSkipARule(t *testing.T) {
	e := newRogueEnv(t, rogueSite{extra: vaultRule})
	cookie := "Cookie: " + sessionCookieName + "=" + sessionValue(t, e, e.freshClient()) // acr pwd: neither rule is met

	tricks := []struct{ name, format string }{
		{"Plain", "/%s"},
		{"Subpath", "/%s/users"},
		{"DotDotBackIn", "/%s/../%s"},
		{"DotDotFromAPublicPath", "/public/../%s"},
		{"EncodedDotDotFromAPublicPath", "/public/%%2e%%2e/%s"},
		{"DotSegment", "/./%s"},
		{"DoubleSlash", "//%s"},
		{"TripleSlashSubpath", "///%s/users"},
		{"EncodedLeadingSlash", "/%%2f%s"},
		{"UpperCase", "/%S"},
		{"TrailingSlash", "/%s/"},
		{"TrailingDot", "/%s."},
		{"TrailingDots", "/%s.."},
		{"TrailingEncodedSlash", "/%s%%2f"},
		{"EncodedSlashSubpath", "/%s%%2fusers"},
		{"EncodedBackslashSubpath", "/%s%%5cusers"},
		{"TrailingEncodedSpace", "/%s%%20"},
		{"MatrixParameter", "/%s;jsessionid=1"},
		{"FirstLetterEncoded", "/%E"},
		{"AllLettersEncoded", "/%X"},
	}
	for _, resource := range []string{"admin", "vault"} {
		for _, trick := range tricks {
			target := spell(trick.format, resource)
			t.Run(resource+"/"+trick.name, func(t *testing.T) {
				mark, up := logMark(e.caddy), e.upstream.count()
				resp, body := rawGET(t, e.caddy, target, cookie)
				reached := e.upstream.since(up)
				challenged := resp.StatusCode == http.StatusUnauthorized &&
					strings.Contains(resp.Header.Get("WWW-Authenticate"), "insufficient_user_authentication")
				switch {
				case challenged:
					if len(reached) != 0 {
						t.Errorf("challenged, yet the upstream saw %+v", reached)
					}
					for _, ck := range resp.Cookies() {
						if ck.Name == sessionCookieName {
							t.Error("a challenge set the session cookie")
						}
					}
					l := waitLogEntry(t, e.caddy, mark, logQuery{msg: "step-up required", reason: "acr"})
					if l.str("rule") != resource {
						t.Errorf("challenged by rule %q, want %q", l.str("rule"), resource)
					}
					t.Logf("%s: challenged (401, rule %s)", target, resource)
				case resp.StatusCode >= 500:
					t.Errorf("%s: %d %s", target, resp.StatusCode, truncate(body))
				default:
					for _, r := range reached {
						if p := normalisedPath(r.EscapedPath); p == "/"+resource || strings.HasPrefix(p, "/"+resource+"/") {
							t.Errorf("%s passed unchallenged (%d) and the upstream received %q, which is %s", target, resp.StatusCode, r.EscapedPath, p)
						} else {
							t.Logf("%s: not covered (%d); the upstream received %q, which Caddy's normalisation reads as %q%s",
								target, resp.StatusCode, r.EscapedPath, p, lenientNote(p, resource))
						}
					}
					if len(reached) == 0 {
						t.Logf("%s: %d without reaching the upstream", target, resp.StatusCode)
					}
				}
			})
		}
	}
}

// spell fills a trick's format: %s the resource, %S upper case, %E its
// first letter percent-encoded, %X every letter percent-encoded; %% is %.
func spell(format, resource string) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 == len(format) {
			b.WriteByte(format[i])
			continue
		}
		i++
		switch format[i] {
		case 's':
			b.WriteString(resource)
		case 'S':
			b.WriteString(strings.ToUpper(resource))
		case 'E':
			b.WriteString(pctEncode(resource[:1]) + resource[1:])
		case 'X':
			b.WriteString(pctEncode(resource))
		default:
			b.WriteByte(format[i])
		}
	}
	return b.String()
}

func pctEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteString("%" + strings.ToUpper(hex2(s[i])))
	}
	return b.String()
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&15]})
}

// lenientNote flags paths that Caddy reads as another resource but that
// some upstreams fold back into the protected one.
func lenientNote(p, resource string) string {
	trimmed := strings.TrimRight(strings.ReplaceAll(p, "\\", "/"), ". ")
	if i := strings.IndexByte(trimmed, ';'); i >= 0 {
		trimmed = trimmed[:i]
	}
	if trimmed == "/"+resource || strings.HasPrefix(trimmed, "/"+resource+"/") {
		return " (NOTE: an upstream that trims trailing dots and spaces or reads '\\' as '/' (Windows), or drops ;parameters (Servlet containers), reads it as /" + resource + ")"
	}
	return ""
}
