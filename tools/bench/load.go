package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/caddy-stepup/caddy-stepup/internal/freeport"
	"github.com/caddy-stepup/caddy-stepup/internal/mmdbtest"
)

// loadConfig is what `stepup-bench load` is told.
type loadConfig struct {
	caddy      string
	out        string
	repo       string
	countryDB  string
	asnDB      string
	duration   time.Duration
	warmup     time.Duration
	rounds     int
	conns      int
	serverCPU  string
	clientCPU  string
	clientIP   string
	targetPath string
	only       string
	pprof      bool
	redisAddr  string // the risk_redis target's redis-server (redis.go)
}

// target is one Caddy configuration under test.
type target struct {
	name      string // short key
	title     string // table label
	caddyfile string
	port      int
	adminPort int    // with -pprof
	cookie    string // Cookie header wrk sends (stepup targets: minted)
	cmd       *exec.Cmd
	pids      []int // processes whose CPU time counts as server CPU
	runs      []run
}

// plain says t is plain reverse_proxy: the baseline or its twin.
func (t *target) plain() bool { return t.name == "plain" || t.name == "plain2" }

// forwardAuth says t is forward_auth to the stub, with or without a cookie.
func (t *target) forwardAuth() bool {
	return t.name == "forward_auth" || t.name == "forward_auth_cookie"
}

// run is one wrk run against a target.
type run struct {
	reqPerSec  float64
	requests   float64
	cpuPerReq  float64 // µs of server CPU (Caddy + upstream [+ auth stub])
	p50, p99   float64 // ms
	rssMiB     float64 // Caddy's VmRSS, highest seen during the run
	non2xx     int
	socketErrs string
}

const (
	benchUA   = "Mozilla/5.0 (X11; Linux x86_64) stepup-bench"
	benchUser = "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"
	benchACR  = "urn:bench:mfa"
)

func runLoad(args []string) error {
	var c loadConfig
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	fs.StringVar(&c.caddy, "caddy", "bin/caddy", "Caddy binary with the stepup plugin")
	fs.StringVar(&c.out, "out", "artifacts/bench", "output directory")
	fs.StringVar(&c.repo, "repo", ".", "repository root (risk list fixtures)")
	fs.StringVar(&c.countryDB, "country-db", "", "MaxMind City database for the risk target (default: the generated test database, written under OUT/work)")
	fs.StringVar(&c.asnDB, "asn-db", "", "MaxMind ASN database for the risk target (default: the generated test database)")
	fs.DurationVar(&c.duration, "duration", 3*time.Second, "length of each measured wrk run")
	fs.DurationVar(&c.warmup, "warmup", 2*time.Second, "unmeasured wrk run per target before the rounds")
	fs.IntVar(&c.rounds, "rounds", 20, "interleaved rounds (each runs every target once)")
	fs.IntVar(&c.conns, "connections", 32, "wrk keep-alive connections")
	fs.StringVar(&c.serverCPU, "server-cpu", "0", "CPU list for Caddy and the stubs (taskset)")
	fs.StringVar(&c.clientCPU, "client-cpu", "1", "CPU list for wrk (taskset)")
	fs.StringVar(&c.clientIP, "client-ip", mmdbtest.London, "client address sent in X-Forwarded-For (London in the generated test databases)")
	fs.StringVar(&c.targetPath, "path", "/admin/dashboard", "request path (a stepup rule covers it)")
	fs.BoolVar(&c.pprof, "pprof", false, "after the rounds, save a CPU profile of each Caddy under load (admin API on loopback) to OUT/profiles/")
	fs.StringVar(&c.only, "targets", "plain,plain2,bytes,stepup,risk,risk_redis,forward_auth,forward_auth_cookie", "targets to run, comma separated (risk_redis also: risk with state redis, a redis-server started on loopback); plain always runs (the baseline); plain2 is the same configuration again, showing the noise floor; forward_auth_cookie is forward_auth sent the stepup targets' Cookie header")
	fs.Parse(args)
	if err := absPaths(&c.caddy, &c.out, &c.repo, &c.countryDB, &c.asnDB); err != nil {
		return err
	}
	work := filepath.Join(c.out, "work")
	if err := freshDir(work); err != nil {
		return err
	}
	if c.countryDB == "" || c.asnDB == "" {
		dbs, err := mmdbtest.WriteAll(work)
		if err != nil {
			return err
		}
		c.countryDB, c.asnDB = cmp.Or(c.countryDB, dbs.City), cmp.Or(c.asnDB, dbs.ASN)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The stubs, pinned beside Caddy.
	upPort, authPort := freeport.Port(), freeport.Port()
	upstream, err := startPinned(ctx, c.serverCPU, filepath.Join(work, "upstream.log"), nil, self, "upstream", "-addr", addr(upPort))
	if err != nil {
		return err
	}
	defer stop(upstream)
	auth, err := startPinned(ctx, c.serverCPU, filepath.Join(work, "authstub.log"), nil, self, "authstub", "-addr", addr(authPort))
	if err != nil {
		return err
	}
	defer stop(auth)
	for _, p := range []int{upPort, authPort} {
		if err := waitListening(p, 10*time.Second); err != nil {
			return err
		}
	}

	op, err := startProvider(benchUser, benchACR, []string{"pwd", "otp"})
	if err != nil {
		return err
	}
	defer op.close()

	var targets []*target
	for _, t := range []*target{
		{name: "plain", title: "`reverse_proxy` (baseline)"},
		{name: "plain2", title: "`reverse_proxy` again, a second identical Caddy (the noise floor)"},
		{name: "bytes", title: "`reverse_proxy`, stepup's request bytes (cookie in, stripped; X-Auth-User added)"},
		{name: "stepup", title: "stepup, valid session"},
		{name: "risk", title: "stepup + risk (all signals), valid session"},
		{name: "risk_redis", title: "stepup + risk (all signals), valid session, `state redis` (a loopback redis-server: frequency counts merged, revocations polled)"},
		{name: "forward_auth", title: "`forward_auth` to a zero-cost stub"},
		{name: "forward_auth_cookie", title: "`forward_auth` to the stub, sent stepup's Cookie header (a session to read)"},
	} {
		if t.name == "plain" || slices.Contains(strings.Split(c.only, ","), t.name) {
			targets = append(targets, t)
		}
	}
	redisPid := 0
	if slices.ContainsFunc(targets, func(t *target) bool { return t.name == "risk_redis" }) {
		redis, addr, err := startRedis(ctx, c.serverCPU, work)
		if err != nil {
			return err
		}
		defer stop(redis)
		c.redisAddr, redisPid = addr, redis.Process.Pid
	}
	for _, t := range targets {
		t.port = freeport.Port()
		if c.pprof {
			t.adminPort = freeport.Port()
		}
		t.caddyfile = caddyfile(&c, t, upPort, authPort, op.issuer, filepath.Join(work, t.name))
		path := filepath.Join(work, t.name+".Caddyfile")
		if err := os.WriteFile(path, []byte(t.caddyfile), 0o644); err != nil {
			return err
		}
		home := filepath.Join(work, t.name)
		env := []string{"HOME=" + home, "XDG_DATA_HOME=" + home + "/data", "XDG_CONFIG_HOME=" + home + "/config"}
		t.cmd, err = startPinned(ctx, c.serverCPU, filepath.Join(work, t.name+".log"), env, c.caddy, "run", "--config", path, "--adapter", "caddyfile")
		if err != nil {
			return err
		}
		defer stop(t.cmd)
		t.pids = []int{t.cmd.Process.Pid, upstream.Process.Pid}
		if t.forwardAuth() {
			t.pids = append(t.pids, auth.Process.Pid)
		}
		if t.name == "risk_redis" {
			t.pids = append(t.pids, redisPid)
		}
	}
	for _, t := range targets {
		if err := waitListening(t.port, 20*time.Second); err != nil {
			return fmt.Errorf("%s: %w (see %s)", t.name, err, filepath.Join(work, t.name+".log"))
		}
	}

	// Sessions minted through the real login flow, then a check that each
	// target answers 200, that the upstream saw the user, and that stepup's
	// cookies did not travel upstream.
	flowHeaders := map[string]string{"User-Agent": benchUA, "X-Forwarded-For": c.clientIP}
	var longest string
	for _, t := range targets {
		if t.name == "stepup" || t.name == "risk" || t.name == "risk_redis" {
			if t.cookie, err = mint(site(t.port), c.targetPath, flowHeaders); err != nil {
				return fmt.Errorf("%s: minting a session: %w", t.name, err)
			}
			fmt.Fprintf(os.Stderr, "stepup-bench: %s: session minted through the login flow (Cookie header %d bytes)\n", t.name, len(t.cookie))
			if len(t.cookie) > len(longest) {
				longest = t.cookie
			}
		}
	}
	for _, t := range targets {
		if t.name == "bytes" || t.name == "forward_auth_cookie" {
			if longest == "" {
				return fmt.Errorf("the %s target needs stepup or risk for its cookie", t.name)
			}
			t.cookie = longest
		}
		if err := check(&c, t); err != nil {
			return err
		}
	}
	op.close() // not needed any more: sessions need no IdP

	before := loadAvg()
	for _, t := range targets {
		if _, err := wrk(&c, t, c.warmup); err != nil {
			return err
		}
	}
	for round := range c.rounds {
		for i := range targets {
			t := targets[(i+round)%len(targets)] // rotate the order each round
			r, err := wrk(&c, t, c.duration)
			if err != nil {
				return err
			}
			t.runs = append(t.runs, r)
			fmt.Fprintf(os.Stderr, "stepup-bench: round %d/%d %-12s %9.0f req/s %6.1f µs CPU/req %6.1f MiB\n",
				round+1, c.rounds, t.name, r.reqPerSec, r.cpuPerReq, r.rssMiB)
		}
	}
	after := loadAvg()
	if c.pprof {
		if err := profileAll(&c, targets); err != nil {
			return err
		}
	}

	return writeReport(c.out, "load.md", loadReport(&c, targets, before, after))
}
