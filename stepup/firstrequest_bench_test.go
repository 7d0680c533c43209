package stepup

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/certmagic"

	"github.com/caddy-stepup/caddy-stepup/stepup/session"
)

// BenchmarkFirstRequestAfterReload is a protected request with a valid
// session served by a handler provisioned just before it, as after a
// config reload (the shared keyring already warm from the previous
// config), against the same request on a handler that has served it
// before ("warm"). Target (issue 19 item 3): first within 2× warm.
func BenchmarkFirstRequestAfterReload(b *testing.B) {
	st := &certmagic.FileStorage{Path: b.TempDir()}
	provision := func() (*Handler, context.CancelFunc) {
		ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
		h := &Handler{
			Provider:        ProviderConfig{Issuer: "https://idp.example/first", ClientID: "edge"},
			ACRLevels:       []string{"urn:pwd", "urn:otp"},
			UpstreamHeaders: map[string]string{"X-User": "{http.auth.user.id}"},
			Rules:           testRules(),
		}
		if err := h.provision(ctx, provisionEnv{storage: st}); err != nil {
			b.Fatal(err)
		}
		return h, cancel
	}
	// The running config: its handler holds the shared keyring, loaded (the
	// cookie sealed below waits for the load).
	old, cancelOld := provision()
	defer func() { cancelOld(); _ = old.Cleanup() }()
	now := time.Now()
	cookie := sealSession(b, old, &session.Session{Subject: "alice", ACR: "urn:otp", AuthTime: now, Issued: now, Expires: now.Add(time.Hour)})
	prepared := func(h *Handler) *http.Request {
		r := browserRequest(h, "/admin/users", cookie, "")
		ctx := context.WithValue(r.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer())
		return r.WithContext(context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{caddyhttp.ClientIPVarKey: benchIP}))
	}
	passed := 0
	next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { passed++; return nil })
	serve := func(b *testing.B, h *Handler, r *http.Request) {
		if err := h.ServeHTTP(&nopWriter{h: http.Header{}}, r, next); err != nil {
			b.Fatal(err)
		}
	}
	// afterProvision serves b.N requests, each timed alone right after a
	// handler is provisioned (untimed) and cleaned up after it: on that new
	// handler (pick returns it) or on one that served before.
	afterProvision := func(b *testing.B, pick func(fresh *Handler) *Handler) {
		passed = 0
		for range b.N {
			b.StopTimer()
			fresh, cancel := provision()
			h := pick(fresh)
			r := prepared(h)
			b.StartTimer()
			serve(b, h, r)
			b.StopTimer()
			cancel()
			_ = fresh.Cleanup()
		}
	}
	b.Run("first", func(b *testing.B) {
		afterProvision(b, func(fresh *Handler) *Handler { return fresh })
		if passed != b.N {
			b.Fatalf("%d of %d first requests passed", passed, b.N)
		}
	})
	b.Run("warm", func(b *testing.B) {
		h, cancel := provision()
		defer func() { cancel(); _ = h.Cleanup() }()
		serve(b, h, prepared(h))
		passed = 0
		for range b.N {
			b.StopTimer()
			r := prepared(h)
			b.StartTimer()
			serve(b, h, r)
		}
		if passed != b.N {
			b.Fatalf("%d of %d warm requests passed", passed, b.N)
		}
	})
	// warm-after-provision is warm with a throwaway handler provisioned
	// and cleaned up (untimed) before each request, as first has: what
	// that does to the CPU caches and the collector, without a new
	// handler serving. first minus this is what a new handler itself costs.
	b.Run("warm-after-provision", func(b *testing.B) {
		h, cancel := provision()
		defer func() { cancel(); _ = h.Cleanup() }()
		serve(b, h, prepared(h))
		afterProvision(b, func(*Handler) *Handler { return h })
		if passed != b.N {
			b.Fatalf("%d of %d warm requests passed", passed, b.N)
		}
	})
}
