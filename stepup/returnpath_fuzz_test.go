package stepup

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzReturnPath checks the open-redirect guard from the outside: whatever
// isSafeReturnPath accepts, resolved as a browser resolves a Location header
// (here net/url against https://site.example/), stays on site.example over
// https without userinfo, and contains no byte a browser would strip or
// reinterpret (controls, space, backslash).
func FuzzReturnPath(f *testing.F) {
	base, err := url.Parse("https://site.example/")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, target string) {
		ok := isSafeReturnPath(target)
		if got, want := safeReturnPath(target, "/fallback"), map[bool]string{true: target, false: "/fallback"}[ok]; got != want {
			t.Fatalf("safeReturnPath(%q) = %q, want %q", target, got, want)
		}
		if !ok {
			return
		}
		if i := strings.IndexFunc(target, func(r rune) bool { return r < 0x20 || r == 0x7f || r == ' ' || r == '\\' }); i >= 0 {
			t.Fatalf("accepted %q with byte %q at %d", target, target[i], i)
		}
		ref, err := url.Parse(target)
		if err != nil {
			t.Fatalf("accepted %q, which does not parse: %v", target, err)
		}
		for _, u := range []*url.URL{base.ResolveReference(ref), reparse(t, base.ResolveReference(ref).String())} {
			if u.Scheme != "https" || u.Host != "site.example" || u.User != nil || u.Opaque != "" {
				t.Fatalf("accepted %q, which resolves to %q (scheme %q, host %q, user %v)", target, u, u.Scheme, u.Host, u.User)
			}
		}
	})
}

func reparse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatalf("resolved URL %q does not parse again: %v", s, err)
	}
	return u
}

func returnPathSeeds(t *testing.T) []fuzzSeed {
	safe := []string{"/", "/admin", "/admin?tab=users&x=1", "/a/b/../c", "/search?q=%2F%2Fevil", "/%E2%9C%93",
		"/admin#frag", "/a;b=c", "/@evil.example", "/.well-known/x", "/a/..//b"}
	unsafe := []string{
		"", "admin", "//evil.example", "/\\evil.example", "\\\\evil.example", "https:evil.example",
		"https://evil.example/", "javascript:alert(1)", "%2F%2Fevil.example", "/%2F/evil.example",
		"/%2f%2fevil.example", "/%5Cevil.example", "/\t/evil.example", "/%09/evil.example",
		"/\n/evil.example", "/ok\r\nSet-Cookie: x=1", "/ok%0d%0aLocation:%20//evil", " /admin",
		"/admin\x00", "///evil.example", "/ /evil.example", "/%", "/\u00a0/evil.example", "/\u3002evil",
		"/" + strings.Repeat("a", maxReturnPathLen),
	}
	var seeds []fuzzSeed
	for i, p := range safe {
		seeds = append(seeds, fuzzSeed{"valid-" + string(rune('a'+i)), []any{p}})
	}
	for i, p := range unsafe {
		seeds = append(seeds, fuzzSeed{"tricky-" + string(rune('a'+i)), []any{p}})
	}
	return seeds
}

func returnPathAccepts(t *testing.T, args []any) bool { return isSafeReturnPath(args[0].(string)) }
