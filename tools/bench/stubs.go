package main

import (
	"flag"
	"net/http"
	"strings"
	"time"
)

// upstreamBody is what the upstream answers: small, like an API response.
var upstreamBody = []byte(`{"ok":true,"service":"bench-upstream"}` + "\n")

// upstreamHandler is the application behind every Caddy. Asked to (the
// harness's check request, never the load), it reports what reached it, so
// the harness can check the identity header arrived and stepup's cookies
// did not; every load request gets the same answer.
func upstreamHandler(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if r.Header.Get("X-Bench-Check") != "" {
		h.Set("X-Upstream-User", r.Header.Get("X-Auth-User"))
		if strings.Contains(r.Header.Get("Cookie"), "stepup") {
			h.Set("X-Upstream-Stepup-Cookie", "present")
		}
	}
	w.Write(upstreamBody)
}

// authStubHandler is a forward_auth server that costs nothing: every
// request is allowed, as a given user.
func authStubHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Auth-User", "bench-user")
	w.WriteHeader(http.StatusOK)
}

func serveStub(args []string, h http.HandlerFunc) error {
	fs := flag.NewFlagSet("stub", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address (loopback)")
	fs.Parse(args)
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	return srv.ListenAndServe()
}
