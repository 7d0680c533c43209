package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

func drain(resp *http.Response, err error) error {
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

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
