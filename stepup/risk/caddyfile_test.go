package risk

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// parseRisk parses a risk block where the stepup directive has it, and
// returns the subdirective that follows it in the stepup block.
func parseRisk(t *testing.T, block string) (*Config, string, error) {
	t.Helper()
	d := caddyfile.NewTestDispenser("stepup {\n" + block + "\nafter_risk\n}")
	d.Next()
	if !d.NextBlock(0) || d.Val() != "risk" {
		t.Fatalf("fixture does not start with risk: %q", d.Val())
	}
	c := new(Config)
	err := c.UnmarshalCaddyfile(d)
	next := ""
	if err == nil && d.NextBlock(0) {
		next = d.Val()
	}
	return c, next, err
}

func TestAFullRiskBlockParses(t *testing.T) {
	c, next, err := parseRisk(t, `risk {
		step_up 40
		deny    95
		acr     urn:mfa phr
		max_age 5m
		report_only
		expose_reasons
		ip_reputation {
			file /etc/caddy/firehol_level1.netset
			file /etc/caddy/drop.txt /etc/caddy/dropv6.txt
			weight 45
			fail_open
		}
		location {
			country_db /var/lib/GeoIP/GeoLite2-City.mmdb
			asn_db     /var/lib/GeoIP/GeoLite2-ASN.mmdb
			country_change    30
			asn_change        10
			impossible_travel 70
			max_speed_kmh     900
			deny_countries    KP IR
			country_denied    95
			fail_open
		}
		frequency {
			window   30s
			limit    60
			ip_limit 300
			weight   35
			capacity 131072
		}
		new_device {
			weight 25
		}
	}`)
	if err != nil {
		t.Fatal(err)
	}
	if next != "after_risk" {
		t.Errorf("parsing went past the block: next is %q", next)
	}
	got, _ := json.Marshal(c)
	want := `{"ip_reputation":{"files":["/etc/caddy/firehol_level1.netset","/etc/caddy/drop.txt","/etc/caddy/dropv6.txt"],"weight":45,"fail_open":true},` +
		`"location":{"country_db":"/var/lib/GeoIP/GeoLite2-City.mmdb","asn_db":"/var/lib/GeoIP/GeoLite2-ASN.mmdb","country_change":30,"asn_change":10,"impossible_travel":70,"max_speed_kmh":900,"deny_countries":["KP","IR"],"country_denied":95,"fail_open":true},` +
		`"frequency":{"window":30000000000,"limit":60,"ip_limit":300,"weight":35,"capacity":131072},` +
		`"new_device":{"weight":25},"step_up":40,"deny":95,"acr":["urn:mfa","phr"],"max_age":300000000000,"report_only":true,"expose_reasons":true}`
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("the parsed block does not validate: %v", err)
	}
}

func TestMinimalRiskBlocksParse(t *testing.T) {
	tests := []struct {
		block string
		want  string
	}{
		{"risk {\nnew_device\n}", `{"new_device":{}}`},
		{"risk {\nfrequency\nnew_device\n}", `{"frequency":{},"new_device":{}}`},
		{"risk {\nmax_age 0\nnew_device\n}", `{"new_device":{},"max_age":0}`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			c, next, err := parseRisk(t, tt.block)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := json.Marshal(c); string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
			if next != "after_risk" {
				t.Errorf("next is %q", next)
			}
		})
	}
	c, _, _ := parseRisk(t, "risk {\nmax_age 0\nnew_device\n}")
	if c.MaxAge == nil || *c.MaxAge != caddy.Duration(0) {
		t.Error("max_age 0 must be set, not unset")
	}
	c, _, _ = parseRisk(t, "risk {\nmax_age 90s\nnew_device\n}")
	if *c.MaxAge != caddy.Duration(90*time.Second) {
		t.Errorf("max_age = %v", *c.MaxAge)
	}
}

func TestBadRiskBlocksAreRejectedWithTheExactError(t *testing.T) {
	tests := []struct {
		name  string
		block string
		want  string
	}{
		{"argument on risk", "risk high {\n}", `stepup: risk: unexpected argument "high"; settings go in the block, at Testfile:2`},
		{"unknown subdirective", "risk {\nscore 5\n}", `stepup: risk: unknown subdirective "score" (use step_up, deny, acr, max_age, report_only, expose_reasons, ip_reputation, location, frequency, new_device), at Testfile:3`},
		{"repeated subdirective", "risk {\nstep_up 40\nstep_up 45\n}", `stepup: risk: step_up is set twice; keep one, at Testfile:4`},
		{"step_up without value", "risk {\nstep_up\n}", `stepup: risk: wrong argument count or unexpected line ending after 'step_up', at Testfile:3`},
		{"step_up with two values", "risk {\nstep_up 40 50\n}", `stepup: risk: wrong argument count or unexpected line ending after '50', at Testfile:3`},
		{"step_up not a number", "risk {\nstep_up high\n}", `stepup: risk: step_up "high" is not a whole number from 1 to 100 (score), at Testfile:3`},
		{"deny out of range", "risk {\ndeny 101\n}", `stepup: risk: deny "101" is not a whole number from 1 to 100 (score), at Testfile:3`},
		{"acr without value", "risk {\nacr\n}", `stepup: risk: wrong argument count or unexpected line ending after 'acr', at Testfile:3`},
		{"bad max_age", "risk {\nmax_age soon\n}", `stepup: risk: max_age "soon" is not a duration such as 5m, at Testfile:3`},
		{"negative max_age", "risk {\nmax_age -5m\n}", `stepup: risk: max_age "-5m" is not a duration such as 5m, at Testfile:3`},
		{"flag with value", "risk {\nreport_only yes\n}", `stepup: risk: wrong argument count or unexpected line ending after 'yes', at Testfile:3`},
		{"argument on a signal", "risk {\nip_reputation /etc/list.txt\n}", `stepup: risk: ip_reputation: unexpected argument "/etc/list.txt"; settings go in the block, at Testfile:3`},
		{"unknown list subdirective", "risk {\nip_reputation {\nurl https://example.com/list\n}\n}", `stepup: risk: ip_reputation: unknown subdirective "url" (use file, weight, fail_open), at Testfile:4`},
		{"file without path", "risk {\nip_reputation {\nfile\n}\n}", `stepup: risk: ip_reputation: wrong argument count or unexpected line ending after 'file', at Testfile:4`},
		{"weight not a number", "risk {\nip_reputation {\nweight 4.5\n}\n}", `stepup: risk: ip_reputation: weight "4.5" is not a whole number from 1 to 100 (points), at Testfile:4`},
		{"repeated weight", "risk {\nip_reputation {\nweight 4\nweight 5\n}\n}", `stepup: risk: ip_reputation: weight is set twice; keep one, at Testfile:5`},
		{"repeated signal block", "risk {\nnew_device\nnew_device\n}", `stepup: risk: new_device is set twice; keep one, at Testfile:4`},
		{"unknown location subdirective", "risk {\nlocation {\ncity_db x\n}\n}", `stepup: risk: location: unknown subdirective "city_db" (use country_db, asn_db, country_change, asn_change, impossible_travel, max_speed_kmh, allow_countries, deny_countries, country_denied, fail_open, optional), at Testfile:4`},
		{"country_db with two paths", "risk {\nlocation {\ncountry_db a b\n}\n}", `stepup: risk: location: wrong argument count or unexpected line ending after 'b', at Testfile:4`},
		{"lower-case country", "risk {\nlocation {\nallow_countries GB fr\n}\n}", `stepup: risk: location: allow_countries "fr" is not an upper-case ISO 3166-1 alpha-2 code such as GB, at Testfile:4`},
		{"zero speed", "risk {\nlocation {\nmax_speed_kmh 0\n}\n}", `stepup: risk: location: max_speed_kmh "0" is not a whole number from 1 to 1000000 (speed in km/h), at Testfile:4`},
		{"bad window", "risk {\nfrequency {\nwindow 0\n}\n}", `stepup: risk: frequency: window "0" is not a duration such as 5m, at Testfile:4`},
		{"limit too high", "risk {\nfrequency {\nlimit 100000\n}\n}", `stepup: risk: frequency: limit "100000" is not a whole number from 1 to 60000 (number of requests), at Testfile:4`},
		{"capacity too small", "risk {\nfrequency {\ncapacity 10\n}\n}", `stepup: risk: frequency: capacity "10" is not a whole number from 1024 to 16777216 (number of entries), at Testfile:4`},
		{"unknown new_device subdirective", "risk {\nnew_device {\nfingerprint ua\n}\n}", `stepup: risk: new_device: unknown subdirective "fingerprint" (use weight), at Testfile:4`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseRisk(t, tt.block)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error\n %v\nwant\n %s", err, tt.want)
			}
		})
	}
}
