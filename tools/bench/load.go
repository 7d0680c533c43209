package main

import (
	"bytes"
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

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
	upPort, authPort := freePort(), freePort()
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
		t.port = freePort()
		if c.pprof {
			t.adminPort = freePort()
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

// stepupLogin is the inside of a stepup block that the load and logins
// runs share: the bench OP as the provider, and /admin needing benchACR.
func stepupLogin(issuer string) string {
	return fmt.Sprintf(`		issuer %s
		client_id bench
		client_secret bench-secret
		insecure_loopback_http
		acr_levels urn:bench:pwd %s
		rule admin {
			match /admin*
			acr %s
		}
`, issuer, benchACR, benchACR)
}

func caddyfile(c *loadConfig, t *target, upPort, authPort int, issuer, dir string) string {
	name, port := t.name, t.port
	admin := "admin off"
	if t.adminPort != 0 {
		admin = "admin " + addr(t.adminPort)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `{
	`+admin+`
	persist_config off
	auto_https off
	storage file_system %s/storage
	servers {
		trusted_proxies static 127.0.0.1/32
	}
	log {
		level WARN
	}
}

http://127.0.0.1:%d {
	bind 127.0.0.1
`, dir, port)
	switch name {
	case "stepup", "risk", "risk_redis":
		b.WriteString("\tstepup {\n" + stepupLogin(issuer) + "\t\tupstream_header X-Auth-User {http.auth.user.id}\n")
		if name == "risk_redis" {
			fmt.Fprintf(&b, "\t\tstate redis %s\n", c.redisAddr)
		}
		if name == "risk" || name == "risk_redis" {
			lists := filepath.Join(c.repo, "stepup", "risk", "testdata")
			fmt.Fprintf(&b, `		risk {
			step_up 50
			deny 90
			acr %s
			ip_reputation {
				file %s/firehol_level1.netset %s/drop.txt %s/dropv6.txt
				weight 40
			}
			location {
				country_db %s
				asn_db %s
				country_change 30
				asn_change 10
				impossible_travel 70
				deny_countries KP
			}
			frequency {
				window 1s
				limit 60000
				ip_limit 60000
			}
			new_device {
				weight 30
			}
		}
`, benchACR, lists, lists, lists, c.countryDB, c.asnDB)
		}
		b.WriteString("\t}\n")
	case "forward_auth", "forward_auth_cookie":
		fmt.Fprintf(&b, `	forward_auth 127.0.0.1:%d {
		uri /auth
		copy_headers X-Auth-User
	}
`, authPort)
	case "bytes":
		// The control: what the stepup targets put on the wire, without
		// stepup. The same Cookie comes in and is dropped before the
		// upstream, the same identity header goes out.
		fmt.Fprintf(&b, `	reverse_proxy 127.0.0.1:%d {
		header_up -Cookie
		header_up X-Auth-User %s
	}
}
`, upPort, benchUser)
		return b.String()
	}
	fmt.Fprintf(&b, "\treverse_proxy 127.0.0.1:%d\n}\n", upPort)
	return b.String()
}

// check makes one request as wrk will and verifies the answer.
func check(c *loadConfig, t *target) error {
	req, _ := http.NewRequest(http.MethodGet, site(t.port)+c.targetPath, nil)
	for k, v := range wrkHeaders(c, t) {
		req.Header.Set(k, v)
	}
	req.Header.Set("X-Bench-Check", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", t.name, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%s: check request answered %s", t.name, resp.Status)
	case !t.plain() && resp.Header.Get("X-Upstream-User") == "":
		return fmt.Errorf("%s: the upstream did not receive X-Auth-User", t.name)
	case !t.plain() && !t.forwardAuth() && resp.Header.Get("X-Upstream-User") != benchUser:
		return fmt.Errorf("%s: the upstream received X-Auth-User %q", t.name, resp.Header.Get("X-Upstream-User"))
	case resp.Header.Get("X-Upstream-Stepup-Cookie") != "" && t.name != "forward_auth_cookie": // forward_auth passes cookies on
		return fmt.Errorf("%s: stepup's cookies reached the upstream", t.name)
	}
	return nil
}

// wrkHeaders are the request headers of every load request: a browser's
// (with its session cookie on the stepup targets).
func wrkHeaders(c *loadConfig, t *target) map[string]string {
	h := map[string]string{"User-Agent": benchUA, "X-Forwarded-For": c.clientIP, "Accept": "application/json"}
	if t.cookie != "" {
		h["Cookie"] = t.cookie
	}
	return h
}

var (
	reqPerSecRe = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	requestsRe  = regexp.MustCompile(`([0-9]+) requests in`)
	non2xxRe    = regexp.MustCompile(`Non-2xx or 3xx responses: ([0-9]+)`)
	socketRe    = regexp.MustCompile(`Socket errors: (.*)`)
	pctRe       = regexp.MustCompile(`(?m)^\s+(50|99)(?:\.000)?%\s+([0-9.]+)(us|ms|s)\s*$`)
)

// wrk runs wrk against t for d, pinned to the client CPU, measuring the
// server processes' CPU time and Caddy's RSS meanwhile.
func wrk(c *loadConfig, t *target, d time.Duration) (run, error) {
	args := []string{"-c", c.clientCPU, "wrk", "-t1", "-c" + strconv.Itoa(c.conns), "-d" + d.String(), "--latency"}
	for k, v := range wrkHeaders(c, t) {
		args = append(args, "-H", k+": "+v)
	}
	args = append(args, site(t.port)+c.targetPath)
	cpu0 := cpuTicks(t.pids)
	var rss float64
	finished, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			rss = max(rss, rssMiB(t.cmd.Process.Pid))
			select {
			case <-tick.C:
			case <-finished:
				return
			}
		}
	}()
	var out bytes.Buffer
	cmd := exec.Command("taskset", args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	cpu1 := cpuTicks(t.pids)
	close(finished)
	<-sampled
	if err != nil {
		return run{}, fmt.Errorf("wrk %s: %w\n%s", t.name, err, out.String())
	}
	text := out.String()
	var r run
	r.reqPerSec = parseFloat(reqPerSecRe, text)
	r.requests = parseFloat(requestsRe, text)
	if m := non2xxRe.FindStringSubmatch(text); m != nil {
		r.non2xx, _ = strconv.Atoi(m[1])
	}
	if m := socketRe.FindStringSubmatch(text); m != nil {
		r.socketErrs = m[1]
	}
	for _, m := range pctRe.FindAllStringSubmatch(text, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		switch m[3] {
		case "us":
			v /= 1000
		case "s":
			v *= 1000
		}
		if m[1] == "50" {
			r.p50 = v
		} else {
			r.p99 = v
		}
	}
	if r.requests == 0 || r.reqPerSec == 0 {
		return r, fmt.Errorf("wrk %s: no requests completed\n%s", t.name, text)
	}
	if r.non2xx > 0 {
		return r, fmt.Errorf("wrk %s: %d responses were not 2xx/3xx: the target is not on the path being measured\n%s", t.name, r.non2xx, text)
	}
	r.cpuPerReq = float64(cpu1-cpu0) / clockTicks() * 1e6 / r.requests
	r.rssMiB = rss
	return r, nil
}

func parseFloat(re *regexp.Regexp, s string) float64 {
	m := re.FindStringSubmatch(s)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// cpuTicks sums user and system time of the processes, in clock ticks.
func cpuTicks(pids []int) int64 {
	var total int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// Fields after the parenthesised command name: state is field 3,
		// utime 14 and stime 15.
		s := string(b)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		for _, f := range fields[11:13] {
			v, _ := strconv.ParseInt(f, 10, 64)
			total += v
		}
	}
	return total
}

var clockTicks = func() func() float64 {
	hz := 100.0
	if out, err := exec.Command("getconf", "CLK_TCK").Output(); err == nil {
		if v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64); err == nil && v > 0 {
			hz = v
		}
	}
	return func() float64 { return hz }
}()

// rssMiB is a process's resident set (VmRSS) in MiB.
func rssMiB(pid int) float64 { return procStatusKiB(pid, "VmRSS:") / 1024 }

func loadAvg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func startPinned(ctx context.Context, cpus, logPath string, env []string, name string, args ...string) (*exec.Cmd, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "taskset", append([]string{"-c", cpus, name}, args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	go func() { cmd.Wait(); logf.Close() }()
	return cmd, nil
}

func stop(cmd *exec.Cmd) {
	if cmd.Process != nil {
		cmd.Process.Signal(os.Interrupt)
		time.Sleep(100 * time.Millisecond)
		cmd.Process.Kill()
	}
}

func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitListening(port int, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr(port), time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nothing listening on %s after %s", addr(port), within)
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }
func site(port int) string { return "http://" + addr(port) }

// profileAll takes a CPU profile of each Caddy while wrk loads it.
func profileAll(c *loadConfig, targets []*target) error {
	dir := filepath.Join(c.out, "profiles")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	seconds := max(int(c.duration.Seconds())-1, 1)
	for _, t := range targets {
		errc := make(chan error, 1)
		go func() {
			_, err := wrk(c, t, c.duration)
			errc <- err
		}()
		time.Sleep(500 * time.Millisecond)
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr(t.adminPort), seconds))
		if err != nil {
			return fmt.Errorf("profiling %s: %w", t.name, err)
		}
		path := filepath.Join(dir, t.name+".pprof")
		f, err := os.Create(path)
		if err == nil {
			_, err = io.Copy(f, resp.Body)
			f.Close()
		}
		resp.Body.Close()
		if err != nil {
			return err
		}
		if err := <-errc; err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "stepup-bench: CPU profile of %s under load: %s\n", t.name, path)
	}
	return nil
}
