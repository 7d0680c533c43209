package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// reloadConfig is what `stepup-bench reload` is told.
type reloadConfig struct {
	caddy     string
	out       string
	sizes     []int
	reloads   int
	probes    int
	serverCPU string
}

// reloadTarget is one Caddy process holding N sites, with or without a
// stepup handler in front of each.
type reloadTarget struct {
	n         int
	stepup    bool
	adminPort int
	config    []byte
	cmd       *exec.Cmd

	loadWall, loadCPU float64   // the first load: ms
	rssBoot           float64   // KiB before any config
	rss, hwm          float64   // KiB after the load and the reloads
	heap              float64   // live heap after a collection, KiB
	wall, cpu         []float64 // each reload: ms
	listen            string
	cookie            string    // stepup: a session valid on every site
	first, warm       []float64 // µs: a site's first request after a reload, and its second
}

func (t *reloadTarget) kind() string {
	if t.stepup {
		return "stepup"
	}
	return "plain"
}

// runReload measures, with real Caddy processes, what N stepup handlers
// cost against the same N sites without stepup (issue 19 item 1): a config
// loaded through the admin API's /load as an ingress controller does, then
// reloaded (Cache-Control: must-revalidate forces the reload of an equal
// config), with the wall time of each POST and the process's CPU time
// over it, and VmRSS/VmHWM from /proc plus the live heap after a collection
// (Caddy's /debug/vars after /debug/pprof/heap?gc=1). Plain and stepup
// alternate reload by reload, so their ratio holds on a shared machine.
func runReload(args []string) error {
	var c reloadConfig
	fs := flag.NewFlagSet("reload", flag.ExitOnError)
	fs.StringVar(&c.caddy, "caddy", "bin/caddy", "Caddy binary with the stepup plugin")
	fs.StringVar(&c.out, "out", "artifacts/bench", "output directory")
	sizes := fs.String("sizes", "1,100,1000,5000", "numbers of sites, comma separated")
	fs.IntVar(&c.reloads, "reloads", 5, "reloads per size and kind, interleaved")
	fs.IntVar(&c.probes, "probes", 20, "sites asked twice after each reload (first request, then warm)")
	fs.StringVar(&c.serverCPU, "server-cpu", "0", "CPU list for Caddy and the OP (taskset)")
	fs.Parse(args)
	for _, s := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return fmt.Errorf("-sizes: %q is not a positive number", s)
		}
		c.sizes = append(c.sizes, n)
	}
	var err error
	if c.caddy, err = filepath.Abs(c.caddy); err != nil {
		return err
	}
	work := filepath.Join(c.out, "reload-work")
	if err := freshDir(work); err != nil {
		return err
	}
	// One issuer for every handler, as in a cluster: discovery and keys
	// are shared per issuer, so it is asked once per process.
	op, err := startProvider(benchUser, benchACR, []string{"pwd", "otp"})
	if err != nil {
		return err
	}
	defer op.close()

	before := loadAvg()
	var all []*reloadTarget
	for _, n := range c.sizes {
		pair := []*reloadTarget{{n: n}, {n: n, stepup: true}}
		for _, t := range pair {
			if err := t.start(&c, work, op.issuer); err != nil {
				return err
			}
			defer stop(t.cmd)
		}
		for _, t := range pair {
			if err := t.firstLoad(); err != nil {
				return err
			}
		}
		// One login on site 0 of the stepup config: the session opens on
		// every site (one issuer and client, one keyring per storage).
		if pair[1].cookie, err = mintLoopback(pair[1].listen); err != nil {
			return fmt.Errorf("stepup n=%d: %w", n, err)
		}
		for i := range c.reloads {
			for j := range pair {
				t := pair[(i+j)%2] // alternate which goes first
				wall, cpu, err := t.post(true)
				if err != nil {
					return err
				}
				t.wall, t.cpu = append(t.wall, wall), append(t.cpu, cpu)
				if err := t.probe(c.probes, i); err != nil {
					return err
				}
			}
		}
		for _, t := range pair {
			if err := t.memory(); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "stepup-bench: reload n=%d %-6s load %.0f ms (%.0f ms CPU), reload median %.1f ms (%.1f ms CPU), RSS %.0f KiB, HWM %.0f KiB, heap %.0f KiB\n",
				t.n, t.kind(), t.loadWall, t.loadCPU, median(t.wall), median(t.cpu), t.rss, t.hwm, t.heap)
			stop(t.cmd)
		}
		all = append(all, pair...)
	}
	return writeReport(c.out, "reload.md", reloadReport(&c, all, before, loadAvg()))
}

// start runs Caddy with only its admin API on loopback, pinned to the
// server CPU.
func (t *reloadTarget) start(c *reloadConfig, work, issuer string) error {
	t.adminPort = freePort()
	dir := filepath.Join(work, fmt.Sprintf("%s-%d", t.kind(), t.n))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	t.listen = addr(freePort())
	t.config = reloadJSON(t.n, t.stepup, addr(t.adminPort), t.listen, filepath.Join(dir, "storage"), issuer)
	boot := filepath.Join(dir, "boot.json")
	if err := os.WriteFile(boot, fmt.Appendf(nil, `{"admin":{"listen":%q,"config":{"persist":false}}}`, addr(t.adminPort)), 0o644); err != nil {
		return err
	}
	env := []string{"HOME=" + dir, "XDG_DATA_HOME=" + dir + "/data", "XDG_CONFIG_HOME=" + dir + "/config"}
	var err error
	t.cmd, err = startPinned(context.Background(), c.serverCPU, filepath.Join(dir, "caddy.log"), env, c.caddy, "run", "--config", boot)
	if err != nil {
		return err
	}
	if err := waitListening(t.adminPort, 20*time.Second); err != nil {
		return fmt.Errorf("%s n=%d: %w (see %s)", t.kind(), t.n, err, filepath.Join(dir, "caddy.log"))
	}
	time.Sleep(300 * time.Millisecond) // let the boot settle before reading RSS
	t.rssBoot = procStatusKiB(t.cmd.Process.Pid, "VmRSS:")
	return nil
}

func (t *reloadTarget) firstLoad() error {
	var err error
	t.loadWall, t.loadCPU, err = t.post(false)
	return err
}

// post sends the config to /load and returns the wall time of the request
// and the CPU time Caddy spent meanwhile, in ms.
func (t *reloadTarget) post(force bool) (wall, cpu float64, err error) {
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr(t.adminPort)+"/load", bytes.NewReader(t.config))
	req.Header.Set("Content-Type", "application/json")
	if force {
		req.Header.Set("Cache-Control", "must-revalidate")
	}
	pid := []int{t.cmd.Process.Pid}
	cpu0, start := cpuNanos(pid), time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("%s n=%d: /load: %w", t.kind(), t.n, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	wall = float64(time.Since(start).Microseconds()) / 1000
	cpu = float64(cpuNanos(pid)-cpu0) / 1e6
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("%s n=%d: /load answered %s: %s", t.kind(), t.n, resp.Status, body)
	}
	return wall, cpu, nil
}

// memory reads the resident set after the reloads and the live heap after
// a forced collection.
func (t *reloadTarget) memory() error {
	pid := t.cmd.Process.Pid
	base := "http://" + addr(t.adminPort)
	if err := drain(http.Get(base + "/debug/pprof/heap?gc=1")); err != nil {
		return err
	}
	time.Sleep(500 * time.Millisecond)
	t.rss, t.hwm = procStatusKiB(pid, "VmRSS:"), procStatusKiB(pid, "VmHWM:")
	resp, err := http.Get(base + "/debug/vars")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var vars struct {
		Memstats struct{ HeapAlloc float64 } `json:"memstats"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&vars); err != nil {
		return fmt.Errorf("/debug/vars: %w", err)
	}
	t.heap = vars.Memstats.HeapAlloc / 1024
	return nil
}

func drain(resp *http.Response, err error) error {
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// reloadJSON is n host routes on listen, each a static response, with a
// stepup handler of its own (a distinct rule, one issuer) in front when
// stepup is set: the shape of N annotated Ingresses. The hosts are loopback
// addresses (siteHost) because insecure_loopback_http, which lets the
// bench log in over plain HTTP, holds only for loopback sites.
func reloadJSON(n int, stepup bool, admin, listen, storage, issuer string) []byte {
	var routes []string
	for i := range n {
		handle := `{"handler":"static_response","body":"ok","headers":{"X-Upstream-User":["{http.auth.user.id}"]}}`
		if stepup {
			handle = fmt.Sprintf(`{"handler":"stepup","provider":{"issuer":%q,"client_id":"bench","client_secret":"bench-secret"},"insecure_loopback_http":true,`+
				`"acr_levels":["urn:bench:pwd",%q],"rules":[{"name":"admin%d","match":[{"path":["/admin%d/*"]}],"acr":[%q]}]},`, issuer, benchACR, i, i, benchACR) + handle
		}
		routes = append(routes, fmt.Sprintf(`{"match":[{"host":[%q]}],"handle":[%s],"terminal":true}`, siteHost(i), handle))
	}
	return fmt.Appendf(nil, `{"admin":{"listen":%q,"config":{"persist":false}},"storage":{"module":"file_system","root":%q},`+
		`"logging":{"logs":{"default":{"level":"ERROR"}}},`+
		`"apps":{"http":{"servers":{"s":{"listen":[%q],"automatic_https":{"disable":true},"routes":[%s]}}}}}`,
		admin, storage, listen, strings.Join(routes, ","))
}

// siteHost is site i's host: 127.0.0.1, 127.0.0.2, … (62,500 of them).
func siteHost(i int) string { return fmt.Sprintf("127.0.%d.%d", i/250, i%250+1) }

// mintLoopback logs in on site 0 (127.0.0.1) through the real flow and
// returns the Cookie header with the session.
func mintLoopback(listen string) (string, error) {
	_, port, _ := strings.Cut(listen, ":")
	cookie, err := mint("http://127.0.0.1:"+port, "/admin0/dashboard", map[string]string{"User-Agent": benchUA})
	if err != nil {
		return "", fmt.Errorf("logging in on site 0: %w", err)
	}
	return cookie, nil
}

// probeClient keeps one connection to the listener: every site is asked
// through it by Host header, so a first request pays no connection setup.
var probeClient = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}

// probe asks k sites (a different slice each reload) twice each right
// after a reload: the first request a new handler serves, then a warm one.
// Stepup's ask a protected path with the session.
func (t *reloadTarget) probe(k, round int) error {
	// A new connection (the reload closed the old one), opened by a host
	// no site serves, so that no handler has served a request yet.
	req, _ := http.NewRequest(http.MethodGet, "http://"+t.listen+"/", nil)
	req.Host = "127.255.255.254"
	if err := drain(probeClient.Do(req)); err != nil {
		return err
	}
	for j := range min(k, t.n) {
		site := (round*k + j) % t.n
		start := time.Now()
		if err := t.get(site); err != nil {
			return err
		}
		first := float64(time.Since(start).Nanoseconds()) / 1e3
		start = time.Now()
		if err := t.get(site); err != nil {
			return err
		}
		t.first, t.warm = append(t.first, first), append(t.warm, float64(time.Since(start).Nanoseconds())/1e3)
	}
	return nil
}

func (t *reloadTarget) get(site int) error {
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://%s/admin%d/dashboard", t.listen, site), nil)
	req.Host = siteHost(site)
	req.Header.Set("User-Agent", benchUA)
	req.Header.Set("Accept", "application/json")
	if t.cookie != "" {
		req.Header.Set("Cookie", t.cookie)
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s n=%d site %d: %w", t.kind(), t.n, site, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || (t.stepup && resp.Header.Get("X-Upstream-User") != benchUser) {
		return fmt.Errorf("%s n=%d site %d: answered %s (user %q): not the protected path with a session", t.kind(), t.n, site, resp.Status, resp.Header.Get("X-Upstream-User"))
	}
	return nil
}
