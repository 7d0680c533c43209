package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// warm runs one login through to the session cookie.
func (t *loginTarget) warm() error {
	batch, err := t.prepare(1)
	if err != nil {
		return err
	}
	return t.callbackOnce(http.DefaultClient, batch[0])
}

var noRedirects = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	Timeout:       30 * time.Second,
	Transport:     &http.Transport{MaxIdleConnsPerHost: 64},
}

// prepare takes n logins up to the IdP's redirect back: the start request
// (its Set-Cookie is the flow/CSRF cookie) and the OP's authorization.
func (t *loginTarget) prepare(n int) ([]pending, error) {
	out := make([]pending, n)
	for i := range out {
		req, _ := http.NewRequest(http.MethodGet, t.start, nil)
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		req.Header.Set("User-Agent", benchUA)
		resp, err := noRedirects.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%s %s: start: %w", t.name, t.alg, err)
		}
		drain(resp, nil)
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, t.opIssuer) {
			return nil, fmt.Errorf("%s %s: start answered %s to %q, not a redirect to the OP", t.name, t.alg, resp.Status, loc)
		}
		var cookies []string
		for _, c := range resp.Cookies() {
			cookies = append(cookies, c.Name+"="+c.Value)
		}
		resp, err = noRedirects.Get(loc)
		if err != nil {
			return nil, fmt.Errorf("%s %s: authorize: %w", t.name, t.alg, err)
		}
		drain(resp, nil)
		back, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || back.Path != t.callback {
			return nil, fmt.Errorf("%s %s: the OP answered %s to %q, not the callback", t.name, t.alg, resp.Status, resp.Header.Get("Location"))
		}
		out[i] = pending{cookie: strings.Join(cookies, "; "), callback: back.String()}
	}
	return out, nil
}

// callbackOnce sends one callback as the browser would and checks that it
// ends in a session cookie and a redirect to the page first asked for.
func (t *loginTarget) callbackOnce(client *http.Client, p pending) error {
	req, _ := http.NewRequest(http.MethodGet, p.callback, nil)
	req.Header.Set("Cookie", p.cookie)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("User-Agent", benchUA)
	resp, err := noRedirects.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: callback: %w", t.name, t.alg, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	session := false
	for _, c := range resp.Cookies() {
		name := strings.TrimPrefix(c.Name, "__Host-")
		session = session || ((name == t.cookie || name == t.cookie+"_0") && c.Value != "") // oauth2-proxy splits a large cookie into _0, _1…
	}
	if (resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther) || !strings.HasSuffix(resp.Header.Get("Location"), "/admin/dashboard") || !session {
		return fmt.Errorf("%s %s: callback answered %s to %q without a session cookie (%s): not a completed login: %q",
			t.name, t.alg, resp.Status, resp.Header.Get("Location"), t.cookie, resp.Header["Set-Cookie"])
	}
	return nil
}

// measure sends the batch's callbacks from c.conns clients and reads the
// server's and the OP's CPU time around them.
func (t *loginTarget) measure(c *loginsConfig, batch []pending) (loginRun, error) {
	server, op := []int{t.cmd.Process.Pid}, []int{t.opPID}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, c.conns)
	s0, o0, start := cpuNanos(server), cpuNanos(op), time.Now()
	for range c.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(batch) {
					return
				}
				if err := t.callbackOnce(noRedirects, batch[i]); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start).Seconds()
	s1, o1 := cpuNanos(server), cpuNanos(op)
	close(errs)
	if err := <-errs; err != nil {
		return loginRun{}, err
	}
	n := float64(len(batch))
	cpu := float64(s1-s0) / 1e9
	return loginRun{perSec: n / wall, perCoreSec: n / cpu, cpuPerLogin: cpu / n * 1e6, opPerLogin: float64(o1-o0) / 1e3 / n}, nil
}
