package risk

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// UnmarshalCaddyfile parses the `risk` block of the stepup directive; d is
// positioned on the `risk` token. Syntax:
//
//	risk {
//	    step_up      <score>          # default 50
//	    deny         <score>          # default 90; 100 never denies
//	    acr          <value...>
//	    max_age      <duration>
//	    report_only
//	    expose_reasons                # show score and signals to clients
//	    ip_reputation {
//	        file      <path...>       # repeatable
//	        weight    <points>        # default 60
//	        fail_open
//	    }
//	    location {
//	        country_db        <path>  # GeoIP2/GeoLite2 City or Country
//	        asn_db            <path>  # GeoLite2 ASN
//	        country_change    <points>
//	        asn_change        <points>
//	        impossible_travel <points>
//	        max_speed_kmh     <km/h>  # default 1000
//	        allow_countries   <CC...> # or deny_countries, not both
//	        deny_countries    <CC...>
//	        country_denied    <points> # default 100
//	        fail_open
//	        optional                  # the databases may appear after load
//	    }
//	    frequency {                   # the block is optional
//	        window   <duration>       # default 1m
//	        limit    <requests>       # per session, default 120
//	        ip_limit <requests>       # per client IP, default 600
//	        weight   <points>         # default 60
//	        capacity <entries>        # default 65536
//	    }
//	    new_device {                  # the block is optional
//	        weight <points>           # default 60
//	    }
//	}
//
// Values are checked for form here and for consistency by Validate.
func (c *Config) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	p := parser{d: d, ctx: "stepup: risk"}
	if err := p.noArgs(); err != nil {
		return err
	}
	return p.block(func(key string) error {
		switch key {
		case "step_up":
			return p.int(&c.StepUp, 1, 100, "score")
		case "deny":
			return p.int(&c.Deny, 1, 100, "score")
		case "acr":
			return p.strings(&c.ACR)
		case "max_age":
			dur, err := p.duration(0)
			c.MaxAge = &dur
			return err
		case "report_only":
			return p.flag(&c.ReportOnly)
		case "expose_reasons":
			return p.flag(&c.ExposeReasons)
		case "ip_reputation":
			c.IPReputation = new(IPReputationConfig)
			return p.sub("ip_reputation").reputation(c.IPReputation)
		case "location":
			c.Location = new(LocationConfig)
			return p.sub("location").location(c.Location)
		case "frequency":
			c.Frequency = new(FrequencyConfig)
			return p.sub("frequency").frequency(c.Frequency)
		case "new_device":
			c.NewDevice = new(NewDeviceConfig)
			return p.sub("new_device").newDevice(c.NewDevice)
		}
		return p.unknown(key, "step_up, deny, acr, max_age, report_only, expose_reasons, ip_reputation, location, frequency, new_device")
	}, nil)
}

func (p parser) reputation(r *IPReputationConfig) error {
	if err := p.noArgs(); err != nil {
		return err
	}
	return p.block(func(key string) error {
		switch key {
		case "file":
			var files []string
			err := p.strings(&files)
			r.Files = append(r.Files, files...)
			return err
		case "weight":
			return p.int(&r.Weight, 1, 100, "points")
		case "fail_open":
			return p.flag(&r.FailOpen)
		}
		return p.unknown(key, "file, weight, fail_open")
	}, map[string]bool{"file": true})
}

func (p parser) location(l *LocationConfig) error {
	if err := p.noArgs(); err != nil {
		return err
	}
	return p.block(func(key string) error {
		switch key {
		case "country_db":
			return p.string(&l.CountryDB)
		case "asn_db":
			return p.string(&l.ASNDB)
		case "country_change":
			return p.int(&l.CountryChange, 0, 100, "points")
		case "asn_change":
			return p.int(&l.ASNChange, 0, 100, "points")
		case "impossible_travel":
			return p.int(&l.ImpossibleTravel, 0, 100, "points")
		case "max_speed_kmh":
			return p.int(&l.MaxSpeedKMH, 1, 1_000_000, "speed in km/h")
		case "country_denied":
			return p.int(&l.CountryDenied, 1, 100, "points")
		case "allow_countries":
			return p.countries(&l.AllowCountries)
		case "deny_countries":
			return p.countries(&l.DenyCountries)
		case "fail_open":
			return p.flag(&l.FailOpen)
		case "optional":
			return p.flag(&l.Optional)
		}
		return p.unknown(key, "country_db, asn_db, country_change, asn_change, impossible_travel, max_speed_kmh, allow_countries, deny_countries, country_denied, fail_open, optional")
	}, nil)
}

func (p parser) frequency(f *FrequencyConfig) error {
	if err := p.noArgs(); err != nil {
		return err
	}
	return p.block(func(key string) error {
		switch key {
		case "window":
			dur, err := p.duration(1)
			f.Window = dur
			return err
		case "limit":
			return p.int(&f.Limit, 1, maxLimit, "number of requests")
		case "ip_limit":
			return p.int(&f.IPLimit, 1, maxLimit, "number of requests")
		case "weight":
			return p.int(&f.Weight, 1, 100, "points")
		case "capacity":
			return p.int(&f.Capacity, minCapacity, maxCapacity, "number of entries")
		}
		return p.unknown(key, "window, limit, ip_limit, weight, capacity")
	}, nil)
}

func (p parser) newDevice(n *NewDeviceConfig) error {
	if err := p.noArgs(); err != nil {
		return err
	}
	return p.block(func(key string) error {
		if key == "weight" {
			return p.int(&n.Weight, 1, 100, "points")
		}
		return p.unknown(key, "weight")
	}, nil)
}

// Interface guards
var _ caddyfile.Unmarshaler = (*Config)(nil)
