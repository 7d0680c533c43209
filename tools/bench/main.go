// Command stepup-bench is the load half of `make bench` (scripts/bench).
//
//	stepup-bench load -caddy PATH -out DIR [-duration 5s -rounds 5 ...]
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
	fmt.Fprintln(os.Stderr, "usage: stepup-bench load|summarize|upstream|authstub [flags]")
	os.Exit(2)
}
