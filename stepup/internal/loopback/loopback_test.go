package loopback

import "testing"

func TestOnlyLoopbackHostsCountAsLoopbackSites(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.0.0.1:8080": true, "localhost": true, "localhost:80": true,
		"[::1]": true, "[::1]:8443": true, "::1": true, "127.1.2.3:80": true,
		"app.example.com": false, "app.example.com:80": false, "203.0.113.9": false,
		"localhost.evil.example": false, "127.0.0.1.nip.io": false, "": false, "[::2]:80": false,
	} {
		if got := HostPort(host); got != want {
			t.Errorf("HostPort(%q) = %v, want %v", host, got, want)
		}
	}
}
