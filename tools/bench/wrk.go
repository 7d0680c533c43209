package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"time"
)

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
