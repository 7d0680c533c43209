// Command stepup-bench is the load half of `make bench` (scripts/bench).
//
//	stepup-bench load -caddy PATH -out DIR [-duration 5s -rounds 5 ...]
//	stepup-bench reload -caddy PATH -out DIR [-sizes 1,100,1000,5000 -reloads 5]
//	stepup-bench logins -caddy PATH [-oauth2-proxy PATH] -out DIR [-logins 500 -rounds 5 -pprof]
//	stepup-bench op -alg RS256|ES256 -addr HOST:PORT
//	stepup-bench summarize GO-BENCH-OUTPUT
//	stepup-bench upstream -addr HOST:PORT
//	stepup-bench authstub -addr HOST:PORT
//
// load starts a small upstream, a zero-cost forward_auth stub and a Caddy
// process per target (plain reverse_proxy; reverse_proxy carrying stepup's
// request bytes, as a control; stepup with a session; stepup with the risk
// engine on every signal; forward_auth), pinned to one core, mints a
// session cookie for each stepup server through the real login flow against
// a throwaway OpenID Provider, then drives wrk from the other core in
// interleaved rounds and writes a Markdown table of medians, ratios against
// plain reverse_proxy, server CPU per request and Caddy's RSS under load.
//
// reload loads configs of N sites with and without a stepup handler each
// into real Caddy processes through the admin API and reports reload wall
// and CPU time, RSS and live heap per handler (issue 19 item 1).
//
// logins sends prepared login callbacks to stepup and to oauth2-proxy,
// both against the bench OP (RS256 and ES256 ID tokens, `op`, its own
// process), and reports logins per second of server CPU (issue 19 item 5).
//
// summarize turns `go test -bench` output into a Markdown table of medians
// and checks issue 7's targets.
//
// It is its own module, outside the plugin's module graph, and uses only
// the standard library.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "load":
		err = runLoad(args)
	case "reload":
		err = runReload(args)
	case "logins":
		err = runLogins(args)
	case "op":
		err = serveOP(args)
	case "summarize":
		err = runSummarize(args)
	case "upstream":
		err = serveStub(args, upstreamHandler)
	case "authstub":
		err = serveStub(args, authStubHandler)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "stepup-bench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: stepup-bench load|reload|logins|op|summarize|upstream|authstub [flags]")
	os.Exit(2)
}
