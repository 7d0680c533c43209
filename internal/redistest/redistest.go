// Package redistest runs a real redis-server (Debian's package) on a
// loopback port for tests, and stops it by its process id.
package redistest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddy-stepup/caddy-stepup/internal/freeport"
)

// Server is one redis-server process.
type Server struct {
	Addr string
	t    testing.TB
	cmd  *exec.Cmd
	port string
}

// Start runs redis-server on a free loopback port without persistence and
// stops it when the test ends. The test is skipped when redis-server is not
// installed (scripts/install-deps installs it), unless STEPUP_REQUIRE_REDIS
// is set, in which case it fails.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("STEPUP_REQUIRE_REDIS") != "" {
			t.Fatal("redis-server not found; run scripts/install-deps")
		}
		t.Skip("redis-server not installed; run scripts/install-deps")
	}
	port := strconv.Itoa(freeport.Port())
	s := &Server{Addr: "127.0.0.1:" + port, t: t, port: port}
	s.run(bin)
	t.Cleanup(s.Stop)
	return s
}

func (s *Server) run(bin string) {
	s.t.Helper()
	s.cmd = exec.Command(bin, "--bind", "127.0.0.1", "--port", s.port, "--save", "", "--appendonly", "no",
		"--protected-mode", "yes", "--dir", s.t.TempDir())
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Ready to accept connections") {
				ready <- true
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			s.t.Fatalf("redis-server on %s exited before it was ready", s.Addr)
		}
	case <-time.After(20 * time.Second):
		s.Stop()
		s.t.Fatalf("redis-server on %s not ready after 20s", s.Addr)
	}
}

// Stop kills the server by its process id and waits for it. Calling it
// again is harmless.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

// Restart starts the server again on the same port, empty.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	bin, _ := exec.LookPath("redis-server")
	s.run(bin)
}

// String names the server for test messages.
func (s *Server) String() string { return fmt.Sprintf("redis-server %s", s.Addr) }
