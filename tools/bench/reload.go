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

	"github.com/caddy-stepup/caddy-stepup/internal/freeport"
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
	if err := absPaths(&c.caddy); err != nil {
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
	t.adminPort = freeport.Port()
	dir := filepath.Join(work, fmt.Sprintf("%s-%d", t.kind(), t.n))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	t.listen = addr(freeport.Port())
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
