package stepup

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// FuzzUnmarshalCaddyfile parses arbitrary text as a stepup directive. It
// lexes with caddyfile.Tokenize and builds the dispenser itself: that is what
// caddyfile.NewTestDispenser does, minus its log.Fatalf on lexer errors and
// its environment variable expansion. The parser never panics, and what it
// accepts is well formed: named rules, non-empty match sets, no negative
// durations, and a handler that encodes to JSON as the adapter needs.
func FuzzUnmarshalCaddyfile(f *testing.F) {
	f.Fuzz(func(t *testing.T, input string) {
		h, err := unmarshalFuzzCaddyfile(input)
		if err != nil || h == nil {
			return
		}
		for i, r := range h.Rules {
			if r == nil || r.Name == "" {
				t.Fatalf("rule %d parsed without a name", i)
			}
			for _, set := range r.MatcherSetsRaw {
				if len(set) == 0 {
					t.Fatalf("rule %q parsed with an empty matcher set", r.Name)
				}
			}
			if r.MaxAge != nil && *r.MaxAge < 0 {
				t.Fatalf("rule %q parsed with max_age %v", r.Name, *r.MaxAge)
			}
		}
		if s := h.Session; s != nil && (s.Lifetime < 0 || s.KeyRotation < 0) {
			t.Fatalf("session block parsed with a negative duration: %+v", s)
		}
		if _, err := json.Marshal(h); err != nil {
			t.Fatalf("parsed handler does not encode to JSON: %v", err)
		}
	})
}

// unmarshalFuzzCaddyfile returns nil, nil when input does not lex.
func unmarshalFuzzCaddyfile(input string) (*Handler, error) {
	tokens, err := caddyfile.Tokenize([]byte(input), "Caddyfile")
	if err != nil {
		return nil, nil
	}
	h := new(Handler)
	return h, h.UnmarshalCaddyfile(caddyfile.NewDispenser(tokens))
}

var fixtureSeparator = regexp.MustCompile(`(?m)^-{3,}\s*$`)

// caddyfileSeeds are the stepup blocks of the adapt fixtures in
// ../caddyfile/testdata, plus a few hand-written ones.
func caddyfileSeeds(t *testing.T) []fuzzSeed {
	seeds := []fuzzSeed{
		{"valid-everything", []any{`stepup {
	issuer https://idp.example.com
	client_id caddy
	client_secret {env.STEPUP_SECRET}
	scopes openid email
	auth_param prompt consent
	require_login all
	acr_levels urn:pwd urn:otp urn:hwk
	rule admin {
		match {
			path /admin*
			method GET POST
		}
		acr urn:otp urn:hwk
		amr hwk
		max_age 5m
		report_only
	}
	rule wire {
		match {
			not path /wire/status
			header X-Wire *
		}
		max_age 0
	}
	session {
		cookie_name stepup
		lifetime 12h
		key_rotation 24h
	}
	callback_path /.stepup/callback
	login_path /.stepup/login
	logout_path /.stepup/logout
	post_logout_redirect /
	idp_logout
	bearer_audience api
	upstream_header X-User {http.auth.user.id}
	strip_header X-Forwarded-User X-Remote-User
	keep_cookies
	report_only
	log_subjects
	log_client_ips
	insecure_loopback_http
}`}},
		{"valid-minimal", []any{"stepup {\n\tissuer https://idp\n\tclient_id x\n}"}},
		{"path-token-outside-site", []any{"stepup {\n\trule ops {\n\t\tmatch /ops*\n\t}\n}"}},
		{"unclosed", []any{"stepup {\n\trule a {\n\t\tmatch {\n"}},
		{"heredoc", []any{"stepup {\n\tclient_secret <<EOF\n\tsecret\n\tEOF\n}"}},
		{"nested-not", []any{"stepup {\n\trule r {\n\t\tmatch {\n\t\t\tnot {\n\t\t\t\tnot path /x\n\t\t\t}\n\t\t}\n\t}\n}"}},
	}
	files, err := filepath.Glob(filepath.Join("..", "caddyfile", "testdata", "*.caddyfiletest"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		parts := fixtureSeparator.Split(string(raw), 2)
		name := strings.TrimSuffix(filepath.Base(file), ".caddyfiletest")
		wantsError := len(parts) == 2 && strings.HasPrefix(strings.TrimSpace(parts[1]), "error:")
		for i, block := range stepupBlocks(parts[0]) {
			label := "fixture-" + name
			if i > 0 {
				label += "-" + string(rune('a'+i))
			}
			if h, err := unmarshalFuzzCaddyfile(block); !wantsError && h != nil && err == nil {
				label = "valid-" + label
			}
			seeds = append(seeds, fuzzSeed{label, []any{block}})
		}
	}
	return seeds
}

// stepupBlocks cuts the `stepup ... { ... }` directives out of a formatted
// Caddyfile by counting braces.
func stepupBlocks(caddyfileText string) []string {
	var blocks []string
	var cur []string
	depth := 0
	for _, line := range strings.Split(caddyfileText, "\n") {
		trimmed := strings.TrimSpace(line)
		if cur == nil {
			if trimmed != "stepup" && !strings.HasPrefix(trimmed, "stepup ") {
				continue
			}
			depth = 0
		}
		cur = append(cur, trimmed)
		depth += strings.Count(line, "{") - strings.Count(line, "}")
		if depth <= 0 {
			blocks = append(blocks, strings.Join(cur, "\n"))
			cur = nil
		}
	}
	return blocks
}

func caddyfileAccepts(t *testing.T, args []any) bool {
	h, err := unmarshalFuzzCaddyfile(args[0].(string))
	return h != nil && err == nil
}
