package risk

import (
	"time"

	"github.com/caddyserver/caddy/v2"
)

// Config is the `risk` block of the stepup handler: which signals score each
// request, and what the score leads to. Every signal is optional; configure
// at least one.
type Config struct {
	// IPReputation scores requests whose client IP is on a list. Default: off.
	IPReputation *IPReputationConfig `json:"ip_reputation,omitempty"`

	// Location scores requests by where the client IP is (MaxMind
	// databases), compared with where the session logged in. Default: off.
	Location *LocationConfig `json:"location,omitempty"`

	// Frequency scores bursts of requests per session and per client IP.
	// Default: off.
	Frequency *FrequencyConfig `json:"frequency,omitempty"`

	// NewDevice scores requests from a device other than the one the
	// session logged in with. Default: off.
	NewDevice *NewDeviceConfig `json:"new_device,omitempty"`

	// StepUp is the score (1-99) above which a request needs the stronger
	// login described by ACR and MaxAge. Default: 50.
	StepUp int `json:"step_up,omitempty"`

	// Deny is the score (2-100) above which a request is refused with 403;
	// 100 never denies. It must be above StepUp. Default: 90.
	Deny int `json:"deny,omitempty"`

	// ACR lists the acr values demanded when the score is above StepUp
	// (printable ASCII without spaces, quotes or backslashes).
	ACR []string `json:"acr,omitempty"`

	// MaxAge is how recent the user's authentication must be when the score
	// is above StepUp. Unset (null): age does not matter.
	MaxAge *caddy.Duration `json:"max_age,omitempty"`

	// ReportOnly evaluates and records the score (placeholders, logs) but
	// never challenges or denies. Default: false.
	ReportOnly bool `json:"report_only,omitempty"`

	// ExposeReasons puts the score and the signals that fired into the
	// answers clients see (the challenge's error_description, the 403
	// body). Off, clients get a generic reason, so an attacker is not told
	// which signal to evade; the audit log and the
	// `{http.stepup.risk.*}` placeholders carry the details either way.
	// For demos and report-only rollouts. Default: false.
	ExposeReasons bool `json:"expose_reasons,omitempty"`
}

// IPReputationConfig scores client IPs found on lists.
type IPReputationConfig struct {
	// Files are paths of IP lists, IPv4 and IPv6: one address or CIDR per
	// line, with `#` or `;` starting a comment. FireHOL `.netset`/`.ipset`
	// files and Spamhaus DROP (`CIDR ; SBL…`, or its JSON lines) work as
	// downloaded. A line that is not an address or CIDR is logged with its
	// file and line number and skipped. A file is re-read within 10 seconds
	// of a change to its modification time or size; replace it atomically
	// (write, then rename). Required.
	Files []string `json:"files"`

	// Weight is the points (1-100) a listed client IP adds. Default: 60.
	Weight int `json:"weight,omitempty"`

	// FailOpen makes a list file that cannot be read add 0 points. By
	// default (fail closed) a request not found on the lists that did load
	// gets Weight while any file is unreadable. Logged once, not per request.
	FailOpen bool `json:"fail_open,omitempty"`
}

// LocationConfig scores the client IP's country and network.
type LocationConfig struct {
	// CountryDB is the path of a MaxMind DB with countries: GeoIP2 or
	// GeoLite2 City or Country (other databases in the same schema work
	// too). ImpossibleTravel needs coordinates, which only City databases
	// have. The file is read into memory (its size) and re-read within 10
	// seconds of a change. Required for CountryChange, ImpossibleTravel and
	// the country lists.
	CountryDB string `json:"country_db,omitempty"`

	// ASNDB is the path of a MaxMind ASN database (GeoLite2 ASN or GeoIP2
	// ISP). Required for ASNChange.
	ASNDB string `json:"asn_db,omitempty"`

	// CountryChange is the points (0-100) added when the country differs
	// from the one recorded at login. Default: 0 (off).
	CountryChange int `json:"country_change,omitempty"`

	// ASNChange is the points (0-100) added when the network (autonomous
	// system) differs from the one recorded at login. Default: 0 (off).
	ASNChange int `json:"asn_change,omitempty"`

	// ImpossibleTravel is the points (0-100) added when going from the
	// login location to the current one would take more than MaxSpeedKMH.
	// Both locations' accuracy radii are subtracted from the distance
	// first. Default: 0 (off).
	ImpossibleTravel int `json:"impossible_travel,omitempty"`

	// MaxSpeedKMH is the fastest plausible travel, in km/h. Default: 1000.
	MaxSpeedKMH int `json:"max_speed_kmh,omitempty"`

	// AllowCountries lists the only ISO 3166-1 alpha-2 country codes (such
	// as GB) requests may come from; others get CountryDenied. Addresses the
	// database does not know (private networks) are not scored.
	AllowCountries []string `json:"allow_countries,omitempty"`

	// DenyCountries lists ISO 3166-1 alpha-2 country codes whose requests
	// get CountryDenied. Use AllowCountries or DenyCountries, not both.
	DenyCountries []string `json:"deny_countries,omitempty"`

	// CountryDenied is the points (1-100) a denied or not-allowed country
	// adds. Default: 100.
	CountryDenied int `json:"country_denied,omitempty"`

	// FailOpen makes the location signals add 0 points while a database is
	// missing or unreadable. By default (fail closed) each signal that
	// needs it adds its full points. Logged once, not per request.
	FailOpen bool `json:"fail_open,omitempty"`

	// Optional lets the config load while CountryDB or ASNDB is missing or
	// unreadable, for a database another process (geoipupdate, a sidecar)
	// writes later: it is loaded within 10 seconds of appearing, and until
	// then FailOpen decides what its signals add. Default: false (a
	// database that does not load fails the config load and `caddy
	// validate`, naming the directive).
	Optional bool `json:"optional,omitempty"`
}

// FrequencyConfig scores bursts. Counts are approximate sliding windows kept
// in fixed-size tables, per replica; with the handler's `state redis` they
// are merged across replicas in the background (see ShareFrequency).
type FrequencyConfig struct {
	// Window is the sliding window requests are counted over, 1s to 24h.
	// Default: 1m.
	Window caddy.Duration `json:"window,omitempty"`

	// Limit is how many requests (1-60000) one session may make per Window
	// before frequency_session fires. Default: 120.
	Limit int `json:"limit,omitempty"`

	// IPLimit is how many requests (1-60000) one client IP (an IPv6 client:
	// its /64) may make per Window before frequency_ip fires. Higher than
	// Limit, since many users can share an address. Default: 600.
	IPLimit int `json:"ip_limit,omitempty"`

	// Weight is the points (1-100) each of frequency_session and
	// frequency_ip adds. Default: 60.
	Weight int `json:"weight,omitempty"`

	// Capacity is how many sessions, and separately how many client IPs,
	// are tracked (1024-16777216, rounded up to a power of two). Memory is
	// fixed at 2 × Capacity × 16 bytes; when more are active, the least
	// active are forgotten first. Default: 65536 (2 MiB).
	Capacity int `json:"capacity,omitempty"`
}

// NewDeviceConfig scores requests from a device not seen at login.
type NewDeviceConfig struct {
	// Weight is the points (1-100) a new device adds. Default: 60.
	Weight int `json:"weight,omitempty"`
}

// Defaults.
const (
	defaultStepUp        = 50
	defaultDeny          = 90
	defaultWeight        = 60
	defaultCountryDenied = 100
	defaultMaxSpeedKMH   = 1000
	defaultWindow        = time.Minute
	defaultLimit         = 120
	defaultIPLimit       = 600
	defaultCapacity      = 1 << 16
	maxLimit             = 60000
	minCapacity          = 1 << 10
	maxCapacity          = 1 << 24
)

// withDefaults returns a deep copy of c with every unset value defaulted.
func (c *Config) withDefaults() Config {
	d := *c
	if d.StepUp == 0 {
		d.StepUp = defaultStepUp
	}
	if d.Deny == 0 {
		d.Deny = defaultDeny
	}
	if c.IPReputation != nil {
		v := *c.IPReputation
		v.Weight = orDefault(v.Weight, defaultWeight)
		d.IPReputation = &v
	}
	if c.Location != nil {
		v := *c.Location
		v.MaxSpeedKMH = orDefault(v.MaxSpeedKMH, defaultMaxSpeedKMH)
		v.CountryDenied = orDefault(v.CountryDenied, defaultCountryDenied)
		d.Location = &v
	}
	if c.Frequency != nil {
		v := *c.Frequency
		if v.Window == 0 {
			v.Window = caddy.Duration(defaultWindow)
		}
		v.Limit = orDefault(v.Limit, defaultLimit)
		v.IPLimit = orDefault(v.IPLimit, defaultIPLimit)
		v.Weight = orDefault(v.Weight, defaultWeight)
		v.Capacity = orDefault(v.Capacity, defaultCapacity)
		d.Frequency = &v
	}
	if c.NewDevice != nil {
		v := *c.NewDevice
		v.Weight = orDefault(v.Weight, defaultWeight)
		d.NewDevice = &v
	}
	return d
}

func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
