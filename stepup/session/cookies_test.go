package session

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
)

func TestCookieValueFindsTheNamedCookieOnly(t *testing.T) {
	h := http.Header{"Cookie": {"a=1; __Host-stepup=abc; b=2", "c=3"}}
	if v, ok := CookieValue(h, "__Host-stepup"); !ok || v != "abc" {
		t.Fatalf("cookieValue = %q, %v", v, ok)
	}
	if v, ok := CookieValue(h, "c"); !ok || v != "3" {
		t.Fatalf("cookie from a second header line = %q, %v", v, ok)
	}
	if _, ok := CookieValue(h, "stepup"); ok {
		t.Fatal("matched a cookie by suffix")
	}
}

func TestRemoveCookiesDropsOnlyOurs(t *testing.T) {
	h := http.Header{"Cookie": {"a=1; __Host-stepup=abc; b=2", "__Secure-stepup_flow_x=1"}}
	removeCookies(h, func(n string) bool { return n == "__Host-stepup" || n == "__Secure-stepup_flow_x" })
	if got := h.Get("Cookie"); got != "a=1; b=2" {
		t.Fatalf("Cookie = %q", got)
	}
	only := http.Header{"Cookie": {"__Host-stepup=abc"}}
	removeCookies(only, func(n string) bool { return n == "__Host-stepup" })
	if _, ok := only["Cookie"]; ok {
		t.Fatal("an emptied Cookie header was left behind")
	}
}

// removeCookiesPlainly is removeCookies as first written: split, filter,
// join. The optimised one must give the same header for any input.
func removeCookiesPlainly(h http.Header, drop func(name string) bool) {
	lines := h["Cookie"]
	if len(lines) == 0 {
		return
	}
	found := false
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			if k, _, _ := strings.Cut(strings.TrimSpace(part), "="); drop(k) {
				found = true
			}
		}
	}
	if !found {
		return
	}
	var kept []string
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			part = strings.TrimSpace(part)
			if k, _, _ := strings.Cut(part, "="); part != "" && !drop(k) {
				kept = append(kept, part)
			}
		}
	}
	if len(kept) == 0 {
		h.Del("Cookie")
		return
	}
	h["Cookie"] = []string{strings.Join(kept, "; ")}
}

func TestRemoveCookiesBehavesAsSplitFilterJoin(t *testing.T) {
	ours := func(n string) bool { return n == "__Host-stepup" || strings.HasPrefix(n, "__Secure-stepup_flow_") }
	cases := [][]string{
		{"a=1; __Host-stepup=x; b=2"},
		{"__Host-stepup=x; a=1; b=2"},
		{"a=1; b=2; __Host-stepup=x"},
		{"a=1;b=2; __Host-stepup=x"},
		{"a=1;  b=2; __Host-stepup=x"},
		{" a=1 ; __Host-stepup=x ;"},
		{"a=1;; b=2; __Host-stepup=x"},
		{"__Host-stepup=x"},
		{"__Host-stepup=x; __Secure-stepup_flow_1=y"},
		{"a=1; b=2"},
		{"a=1;b=2;"},
		{""},
		{";"},
		{"=; __Host-stepup"},
		{"a=1; __Host-stepup=x", "b=2"},
		{"a=1", "__Host-stepup=x"},
		{"__Host-stepup=x", "__Host-stepup=y"},
	}
	// And random lines over an alphabet that makes separators, spaces,
	// empty parts and our names likely.
	rng := rand.New(rand.NewPCG(7, 7))
	pieces := []string{"a=1", "b=", "__Host-stepup=v", "__Secure-stepup_flow_z=1", "=x", "", " ", ";", "; ", ";;", "\t"}
	for range 5000 {
		var line strings.Builder
		for range rng.IntN(8) {
			line.WriteString(pieces[rng.IntN(len(pieces))])
		}
		cases = append(cases, []string{line.String()})
	}
	for _, lines := range cases {
		got := http.Header{"Cookie": append([]string{}, lines...)}
		want := http.Header{"Cookie": append([]string{}, lines...)}
		removeCookies(got, ours)
		removeCookiesPlainly(want, ours)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("Cookie %q: got %q, want %q", lines, got["Cookie"], want["Cookie"])
		}
	}
}
