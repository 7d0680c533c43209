package integration

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// After a login the browser goes back where it was going, but only ever
// to a path on this site: a return target that a browser could read as
// another origin (or a script, or a header) falls back to "/".

func TestSecurityReturnTargetsStaySameSite(t *testing.T) {
	e := newRogueEnv(t, rogueSite{})
	for _, tc := range []struct {
		name   string
		start  string // where the browser starts, raw
		wantTo string // the callback's Location; "" for any same-site path
	}{
		{"ControlAPathWithAQueryIsKept", "/.stepup/login?return_to=" + url.QueryEscape("/admin/users?tab=2"), "/admin/users?tab=2"},
		{"ControlAProtectedPageIsReturnedTo", "/reports?year=2026", "/reports?year=2026"},

		{"SchemeRelativeIsRefused", "/.stepup/login?return_to=//evil.example", "/"},
		{"SchemeRelativeWithPathIsRefused", "/.stepup/login?return_to=" + url.QueryEscape("//evil.example/path"), "/"},
		{"BackslashIsRefused", "/.stepup/login?return_to=" + url.QueryEscape(`/\evil.example`), "/"},
		{"DoubleBackslashIsRefused", "/.stepup/login?return_to=" + url.QueryEscape(`\\evil.example`), "/"},
		{"SchemeWithoutSlashesIsRefused", "/.stepup/login?return_to=https:evil.example", "/"},
		{"AbsoluteURLIsRefused", "/.stepup/login?return_to=" + url.QueryEscape("https://evil.example/"), "/"},
		{"EncodedSlashesAreRefused", "/.stepup/login?return_to=%2F%2Fevil.example", "/"},
		{"DoubleEncodedSlashesAreRefused", "/.stepup/login?return_to=%252F%252Fevil.example", "/"},
		{"PathWithEncodedSlashesIsRefused", "/.stepup/login?return_to=" + url.QueryEscape("/%2F%2Fevil.example"), "/"},
		{"EncodedBackslashIsRefused", "/.stepup/login?return_to=" + url.QueryEscape("/%5Cevil.example"), "/"},
		{"TabBetweenSlashesIsRefused", "/.stepup/login?return_to=/%09/evil.example", "/"},
		{"EncodedTabBetweenSlashesIsRefused", "/.stepup/login?return_to=" + url.QueryEscape("/%09/evil.example"), "/"},
		{"NewlineBetweenSlashesIsRefused", "/.stepup/login?return_to=/%0A/evil.example", "/"},
		{"JavascriptURLIsRefused", "/.stepup/login?return_to=" + url.QueryEscape("javascript:alert(1)"), "/"},
		{"JavascriptURLAfterASlashIsRefused", "/.stepup/login?return_to=" + url.QueryEscape("/javascript:alert(1)"), ""},
		{"CRLFHeaderInjectionIsRefused", "/.stepup/login?return_to=/%0D%0ASet-Cookie:%20stolen=1", "/"},
		{"EncodedCRLFHeaderInjectionIsRefused", "/.stepup/login?return_to=" + url.QueryEscape("/%0D%0ASet-Cookie:%20stolen=1"), "/"},
		{"UserinfoIsRefused", "/.stepup/login?return_to=" + url.QueryEscape("//user@evil.example"), "/"},
		{"DotSegmentsStayOnThisSite", "/.stepup/login?return_to=" + url.QueryEscape("/.//evil.example"), ""},
		{"EmptyFallsBack", "/.stepup/login?return_to=", "/"},
		// A protected navigation returns to its own URI; one that a browser
		// would read as another origin must fall back too.
		{"ProtectedNavigationToASchemeRelativePathIsRefused", "//evil.example/", "/"},
		{"ProtectedNavigationToAnEncodedBackslashPathIsRefused", "/%5C%5Cevil.example/", "/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.freshClient()
			tr, offsite := walk(t, c, e.caddy.URL()+tc.start, func(u *url.URL) bool { return !e.sameSite(u) && u.Host != mustParse(t, e.op.Issuer()).Host })
			if offsite != nil {
				t.Fatalf("the browser was sent off-site to %s (hops %v)", offsite, tr.urls())
			}
			cb, ok := tr.hopTo(callbackPath)
			if !ok || cb.status != http.StatusSeeOther {
				t.Fatalf("the login did not complete: %v (last %d %s)", tr.urls(), tr.last().status, truncate(tr.last().body))
			}
			loc := cb.header.Get("Location")
			if tc.wantTo != "" && loc != tc.wantTo {
				t.Errorf("Location %q, want %q", loc, tc.wantTo)
			}
			if !e.browserStaysOnSite(loc) {
				t.Errorf("Location %q takes a browser off this site", loc)
			}
			for _, ck := range cb.cookies {
				if ck.Name == "stolen" {
					t.Error("a header was injected through the return target")
				}
			}
		})
	}
}

func (e *rogueEnv) sameSite(u *url.URL) bool {
	site := mustParseURL(e.caddy.URL())
	return u.Scheme == site.Scheme && u.Host == site.Host
}

// browserStaysOnSite reads loc as a browser would (WHATWG URL parsing drops
// tabs and newlines and treats '\' as '/' in special schemes) and reports
// whether it resolves to this site, with no script scheme.
func (e *rogueEnv) browserStaysOnSite(loc string) bool {
	if strings.ContainsAny(loc, "\r\n\x00") {
		return false
	}
	lenient := strings.NewReplacer("\t", "", "\\", "/").Replace(loc)
	u, err := mustParseURL(e.caddy.URL()).Parse(lenient)
	return err == nil && e.sameSite(u) && !strings.HasPrefix(strings.ToLower(strings.TrimSpace(loc)), "javascript:")
}

func mustParseURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
