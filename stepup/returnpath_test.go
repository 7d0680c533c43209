package stepup

import "testing"

func TestReturnPathStaysOnThisSite(t *testing.T) {
	safe := []string{"/", "/admin", "/admin?tab=users&x=1", "/a/b/../c", "/search?q=%2F%2Fevil", "/%E2%9C%93"}
	for _, p := range safe {
		if got := safeReturnPath(p, "/fallback"); got != p {
			t.Errorf("safeReturnPath(%q) = %q, want it kept", p, got)
		}
	}
	unsafe := []string{
		"", "admin", "//evil.example", "/\\evil.example", "\\\\evil.example", "https:evil.example",
		"https://evil.example/", "javascript:alert(1)", "%2F%2Fevil.example", "/%2F/evil.example",
		"/%2f%2fevil.example", "/%5Cevil.example", "/\t/evil.example", "/%09/evil.example",
		"/\n/evil.example", "/ok\r\nSet-Cookie: x=1", "/ok%0d%0aLocation:%20//evil", " /admin",
		"/admin\x00", "///evil.example", "/ /evil.example", string(make([]byte, maxReturnPathLen+1)),
	}
	for _, p := range unsafe {
		if got := safeReturnPath(p, "/fallback"); got != "/fallback" {
			t.Errorf("safeReturnPath(%q) = %q, want the fallback", p, got)
		}
	}
}
