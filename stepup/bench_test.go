package stepup

// Benchmarks of the per-request path (issue 7). They measure; they never
// assert on time. Run them with `make bench` (scripts/bench), or:
//
//	go test -run '^$' -bench . -benchmem -count 6 ./stepup/ | benchstat -
//
// Each benchmark serves fully prepared requests: what Caddy's server does
// before our handler runs (a replacer with its HTTP provider, the vars map,
// client_ip) is built in batches outside the timer, so ns/op and allocs/op
// are the handler's own.

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/certmagic"

	"github.com/caddy-stepup/caddy-stepup/internal/mmdbtest"
	"github.com/caddy-stepup/caddy-stepup/stepup/internal/testclock"
	"github.com/caddy-stepup/caddy-stepup/stepup/risk"
	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// benchIP is London in the generated test databases (internal/mmdbtest),
// on none of the risk package's IP list fixtures.
const benchIP = mmdbtest.London

// benchUA is a typical browser User-Agent (it feeds the device hash).
const benchUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36"

// benchHandler provisions a handler as a production config would: HTTPS
// cookie names, the unit tests' three rules and acr levels, one upstream
// identity header. configure may change it before Provision.
func benchHandler(b *testing.B, configure func(h *Handler)) (*Handler, *clock) {
	b.Helper()
	c := testclock.New(time.Unix(1_800_000_000, 0))
	h := &Handler{
		Provider:        ProviderConfig{Issuer: "https://idp.example/" + b.Name(), ClientID: "edge"},
		ACRLevels:       []string{"urn:pwd", "urn:otp"},
		UpstreamHeaders: map[string]string{"X-User": "{http.auth.user.id}"},
		Rules:           testRules(),
	}
	if configure != nil {
		configure(h)
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	b.Cleanup(cancel)
	if err := h.provision(ctx, provisionEnv{now: c.Now, storage: &certmagic.FileStorage{Path: b.TempDir()}}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = h.Cleanup() })
	if err := h.Validate(); err != nil {
		b.Fatal(err)
	}
	return h, c
}

// benchRisk turns on every risk signal: the risk package's IP list
// fixtures, generated City and ASN test databases (all four location
// signals), frequency per session and IP, and new device. Limits are high
// so that the benchmark's own request rate does not fire frequency.
func benchRisk(b *testing.B) func(h *Handler) {
	dbs, err := mmdbtest.WriteAll(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	return func(h *Handler) { benchRiskConfig(h, dbs) }
}

func benchRiskConfig(h *Handler, dbs mmdbtest.Paths) {
	h.Risk = &risk.Config{
		IPReputation: &risk.IPReputationConfig{Files: []string{
			filepath.Join("risk", "testdata", "firehol_level1.netset"),
			filepath.Join("risk", "testdata", "drop.txt"),
			filepath.Join("risk", "testdata", "dropv6.txt"),
		}, Weight: 40},
		Location: &risk.LocationConfig{
			CountryDB:     dbs.City,
			ASNDB:         dbs.ASN,
			CountryChange: 30, ASNChange: 10, ImpossibleTravel: 70,
			DenyCountries: []string{"KP"},
		},
		Frequency: &risk.FrequencyConfig{Limit: 60000, IPLimit: 60000},
		NewDevice: &risk.NewDeviceConfig{Weight: 30},
		StepUp:    50, Deny: 90, ACR: []string{"urn:otp"},
	}
}

// benchSession is a realistic session (the cookie size test's): a UUID
// subject, three methods, a risk baseline recorded from benchIP.
func benchSession(h *Handler, c *clock, device uint64) *session.Session {
	now := c.Now()
	s := &session.Session{
		Subject: "f81d4fae-7dec-11d0-a765-00a0c91e6bf6", ACR: "urn:otp",
		AMR: []string{"pwd", "otp", "hwk"}, AuthTime: now, Issued: now, Expires: now.Add(30 * 24 * time.Hour),
		LoginRule: "admin",
	}
	if h.risk != nil {
		s.Login = h.risk.Record(&risk.Request{Now: now, ClientIP: netip.MustParseAddr(benchIP), Device: device})
		s.HasLogin = true
	}
	return s
}

// sessionCookie seals s under the handler's keys, as the login flow does.
func sessionCookie(b *testing.B, h *Handler, s *session.Session) string {
	b.Helper()
	return sealSession(b, h, s)
}

// browserRequest is what a logged-in browser sends over HTTPS: our session
// and device cookies among a site's own.
func browserRequest(h *Handler, path, session, device string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "https://app.example"+path, nil)
	r.TLS = &tls.ConnectionState{}
	r.RemoteAddr = benchIP + ":40000"
	r.Header.Set("User-Agent", benchUA)
	r.Header.Set("Accept", "text/html,application/xhtml+xml")
	cookie := "theme=dark; _ga=GA1.1.1234567890.1800000000"
	if session != "" {
		cookie += "; " + h.cookies.Prefixed.Session + "=" + session
	}
	if device != "" {
		cookie += "; " + h.cookies.Prefixed.Device + "=" + device
	}
	r.Header.Set("Cookie", cookie)
	return r
}

// nopWriter is a ResponseWriter that discards; the fast path writes nothing.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}

// benchServe serves copies of proto through h with a no-op next handler,
// failing unless every request reached next. tick runs before each request
// (nil: none).
func benchServe(b *testing.B, h *Handler, proto *http.Request, tick func()) {
	b.Helper()
	const batch = 512
	reqs := make([]*http.Request, batch)
	prepare := func() {
		for i := range reqs {
			// As caddyhttp.Server prepares every request: a replacer with
			// the HTTP vars provider mapped, and the vars map with client_ip.
			repl := caddy.NewReplacer()
			repl.Map(func(string) (any, bool) { return nil, false })
			vars := map[string]any{caddyhttp.ClientIPVarKey: benchIP}
			ctx := context.WithValue(proto.Context(), caddy.ReplacerCtxKey, repl)
			ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, vars)
			r := proto.WithContext(ctx)
			r.Header = proto.Header.Clone()
			reqs[i] = r
		}
	}
	passed := 0
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
		passed++
		return nil
	})
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%batch == 0 {
			b.StopTimer()
			prepare()
			b.StartTimer()
		}
		if tick != nil {
			tick()
		}
		if err := h.ServeHTTP(w, reqs[i%batch], next); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if passed != b.N || len(w.h) != 0 {
		b.Fatalf("%d of %d requests reached next; response headers %v", passed, b.N, w.h)
	}
}

// BenchmarkFastPath is a request a rule covers, carrying a valid,
// sufficient session: the cost stepup adds to every such request, with
// the README's upstream_header X-User {http.auth.user.id}.
// Target (issue 7): ≤ 3 µs/op and ≤ 4 allocs/op.
func BenchmarkFastPath(b *testing.B) {
	b.Run("session", func(b *testing.B) {
		h, c := benchHandler(b, nil)
		r := browserRequest(h, "/admin/users", sessionCookie(b, h, benchSession(h, c, 0)), "")
		benchServe(b, h, r, nil)
	})
	// The session cache off: what a request costs when its cookie is not in
	// the cache (its first, or beyond the cache's bound of active sessions).
	b.Run("session_uncached", func(b *testing.B) {
		h, c := benchHandler(b, nil)
		h.sessions = session.NewStore(h.sealer, h.cookies, session.WithClock(h.now), session.WithCacheSize(0))
		r := browserRequest(h, "/admin/users", sessionCookie(b, h, benchSession(h, c, 0)), "")
		benchServe(b, h, r, nil)
	})
	b.Run("session+risk", func(b *testing.B) {
		h, c := benchHandler(b, benchRisk(b))
		device := risk.NewDeviceID()
		hash := risk.DeviceHash(device, benchUA, "")
		r := browserRequest(h, "/admin/users", sessionCookie(b, h, benchSession(h, c, hash)), device)
		// 10 ms between requests: 6,000 per minute, under the frequency
		// limits, so the score stays 0 and the request passes on the rule.
		benchServe(b, h, r, func() { c.Add(10 * time.Millisecond) })
	})
}

// BenchmarkPassThrough is a request no rule covers: from a browser without
// our cookies, and from a logged-in browser whose cookies must still be
// removed before the request goes upstream.
func BenchmarkPassThrough(b *testing.B) {
	h, c := benchHandler(b, nil)
	b.Run("no_session", func(b *testing.B) {
		benchServe(b, h, browserRequest(h, "/static/app.js", "", ""), nil)
	})
	b.Run("with_session_cookie", func(b *testing.B) {
		benchServe(b, h, browserRequest(h, "/static/app.js", sessionCookie(b, h, benchSession(h, c, 0)), ""), nil)
	})
}

// BenchmarkRuleMatching finds the requirement among 1, 10, 100 and 1,000 path
// rules, the request matching the last one: through the handler's policy,
// so from 8 rules on via the rule index (decision's BenchmarkRuleIndex
// compares).
func BenchmarkRuleMatching(b *testing.B) {
	for _, n := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			h, _ := benchHandler(b, func(h *Handler) {
				h.Rules = nil
				for i := range n {
					h.Rules = append(h.Rules, &Rule{
						Name:           fmt.Sprintf("area%d", i),
						MatcherSetsRaw: caddyhttp.RawMatcherSets{{"path": json.RawMessage(fmt.Sprintf(`["/area%d/*"]`, i))}},
					})
				}
			})
			r := browserRequest(h, fmt.Sprintf("/area%d/page", n-1), "", "")
			repl := caddy.NewReplacer()
			r = r.WithContext(context.WithValue(r.Context(), caddy.ReplacerCtxKey, repl))
			want, _ := h.policy.Login(fmt.Sprintf("area%d", n-1))
			b.ReportAllocs()
			for b.Loop() {
				if req, err := h.policy.Match(r); err != nil || req != want {
					b.Fatalf("Match = %v, %v", req, err)
				}
			}
		})
	}
}
