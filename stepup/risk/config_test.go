package risk

import (
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

func TestValidateNamesTheFieldAndTheFix(t *testing.T) {
	dev := &NewDeviceConfig{}
	neg := caddy.Duration(-time.Minute)
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no signal", Config{}, "risk: no signal configured; add ip_reputation, location, frequency or new_device"},
		{"step_up above deny", Config{NewDevice: dev, StepUp: 95}, "risk deny: 90 must be above step_up (95) and at most 100 (100 never denies)"},
		{"step_up 100", Config{NewDevice: dev, StepUp: 100, Deny: 100}, "risk step_up: 100 must be from 1 to 99"},
		{"negative step_up", Config{NewDevice: dev, StepUp: -1}, "risk step_up: -1 must be from 1 to 99"},
		{"deny over 100", Config{NewDevice: dev, Deny: 101}, "risk deny: 101 must be above step_up (50) and at most 100 (100 never denies)"},
		{"acr with a space", Config{NewDevice: dev, ACR: []string{"a b"}}, `risk acr: "a b" must be printable ASCII without spaces, quotes or backslashes`},
		{"negative max_age", Config{NewDevice: dev, MaxAge: &neg}, "risk max_age: -1m0s is negative"},
		{"weight over 100", Config{NewDevice: &NewDeviceConfig{Weight: 101}}, "risk new_device weight: 101 must be from 1 to 100 points"},
		{"no list file", Config{IPReputation: &IPReputationConfig{}}, "risk ip_reputation files: required; list at least one IP list file"},
		{"empty list path", Config{IPReputation: &IPReputationConfig{Files: []string{""}}}, "risk ip_reputation files[0]: empty path"},
		{"list twice", Config{IPReputation: &IPReputationConfig{Files: []string{"a", "a"}}}, `risk ip_reputation files: "a" is listed twice`},
		{"negative list weight", Config{IPReputation: &IPReputationConfig{Files: []string{"a"}, Weight: -5}}, "risk ip_reputation weight: -5 must be from 1 to 100 points"},
		{"location without databases", Config{Location: &LocationConfig{CountryChange: 10}}, "risk location: set country_db, asn_db or both"},
		{"location without signals", Config{Location: &LocationConfig{CountryDB: "c"}}, "risk location: no signal enabled; give points to country_change, asn_change or impossible_travel, or list allow_countries or deny_countries"},
		{"country signal without its database", Config{Location: &LocationConfig{ASNDB: "a", ImpossibleTravel: 50}}, "risk location country_db: required by country_change, impossible_travel and the country lists"},
		{"asn signal without its database", Config{Location: &LocationConfig{CountryDB: "c", ASNChange: 50}}, "risk location asn_db: required by asn_change"},
		{"location weight over 100", Config{Location: &LocationConfig{CountryDB: "c", CountryChange: 150}}, "risk location country_change: 150 must be from 0 to 100 points"},
		{"both country lists", Config{Location: &LocationConfig{CountryDB: "c", AllowCountries: []string{"GB"}, DenyCountries: []string{"KP"}}}, "risk location: use allow_countries or deny_countries, not both"},
		{"lower-case country", Config{Location: &LocationConfig{CountryDB: "c", DenyCountries: []string{"kp"}}}, `risk location deny_countries: "kp" is not an upper-case ISO 3166-1 alpha-2 code such as GB`},
		{"country twice", Config{Location: &LocationConfig{CountryDB: "c", AllowCountries: []string{"GB", "GB"}}}, `risk location allow_countries: "GB" is listed twice`},
		{"negative speed", Config{Location: &LocationConfig{CountryDB: "c", ImpossibleTravel: 5, MaxSpeedKMH: -1}}, "risk location max_speed_kmh: -1 must be a positive speed in km/h"},
		{"window too short", Config{Frequency: &FrequencyConfig{Window: caddy.Duration(time.Millisecond)}}, "risk frequency window: 1ms must be from 1s to 24h"},
		{"limit too high", Config{Frequency: &FrequencyConfig{Limit: 70000}}, "risk frequency limit: 70000 must be from 1 to 60000 requests"},
		{"ip_limit negative", Config{Frequency: &FrequencyConfig{IPLimit: -1}}, "risk frequency ip_limit: -1 must be from 1 to 60000 requests"},
		{"capacity too small", Config{Frequency: &FrequencyConfig{Capacity: 10}}, "risk frequency capacity: 10 must be from 1024 to 16777216 entries"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if err == nil || err.Error() != tt.want {
				t.Errorf("Validate() = %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestDefaultsFillOnlyWhatIsUnset(t *testing.T) {
	c := Config{
		IPReputation: &IPReputationConfig{Files: []string{"a"}},
		Location:     &LocationConfig{CountryDB: "c", DenyCountries: []string{"KP"}},
		Frequency:    &FrequencyConfig{Limit: 10},
		NewDevice:    &NewDeviceConfig{Weight: 5},
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d := c.withDefaults()
	if d.StepUp != 50 || d.Deny != 90 || d.IPReputation.Weight != 60 || d.Location.CountryDenied != 100 ||
		d.Location.MaxSpeedKMH != 1000 || d.Location.CountryChange != 0 || d.Frequency.Limit != 10 ||
		d.Frequency.IPLimit != 600 || d.Frequency.Window != caddy.Duration(time.Minute) || d.Frequency.Capacity != 65536 ||
		d.Frequency.Weight != 60 || d.NewDevice.Weight != 5 {
		t.Errorf("defaults: %+v %+v %+v %+v %+v", d, *d.IPReputation, *d.Location, *d.Frequency, *d.NewDevice)
	}
	if c.IPReputation.Weight != 0 || c.Frequency.IPLimit != 0 {
		t.Error("withDefaults changed the caller's config")
	}
}
