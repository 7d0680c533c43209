package risk

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"
)

// acrPattern matches what can travel in acr_values and a quoted
// WWW-Authenticate attribute, as the stepup handler's rules require.
var acrPattern = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]{1,255}$`)

var countryPattern = regexp.MustCompile(`^[A-Z]{2}$`)

// Validate checks the configuration; each error names the field and the fix.
// Errors start with "risk", so the handler can return them as they are.
func (c *Config) Validate() error {
	d := c.withDefaults()
	if d.IPReputation == nil && d.Location == nil && d.Frequency == nil && d.NewDevice == nil {
		return errors.New("risk: no signal configured; add ip_reputation, location, frequency or new_device")
	}
	if d.StepUp < 1 || d.StepUp > 99 {
		return fmt.Errorf("risk step_up: %d must be from 1 to 99", d.StepUp)
	}
	if d.Deny <= d.StepUp || d.Deny > 100 {
		return fmt.Errorf("risk deny: %d must be above step_up (%d) and at most 100 (100 never denies)", d.Deny, d.StepUp)
	}
	for _, v := range d.ACR {
		if !acrPattern.MatchString(v) {
			return fmt.Errorf("risk acr: %q must be printable ASCII without spaces, quotes or backslashes", v)
		}
	}
	if d.MaxAge != nil && *d.MaxAge < 0 {
		return fmt.Errorf("risk max_age: %s is negative", time.Duration(*d.MaxAge))
	}
	for _, check := range []func(*Config) error{validateReputation, validateLocation, validateFrequency} {
		if err := check(&d); err != nil {
			return err
		}
	}
	if d.NewDevice != nil {
		if err := checkWeight("risk new_device weight", d.NewDevice.Weight, 1); err != nil {
			return err
		}
	}
	return nil
}

func validateReputation(d *Config) error {
	r := d.IPReputation
	if r == nil {
		return nil
	}
	if len(r.Files) == 0 {
		return errors.New("risk ip_reputation files: required; list at least one IP list file")
	}
	for i, f := range r.Files {
		if f == "" {
			return fmt.Errorf("risk ip_reputation files[%d]: empty path", i)
		}
		if slices.Contains(r.Files[:i], f) {
			return fmt.Errorf("risk ip_reputation files: %q is listed twice", f)
		}
	}
	return checkWeight("risk ip_reputation weight", r.Weight, 1)
}

func validateLocation(d *Config) error {
	l := d.Location
	if l == nil {
		return nil
	}
	if l.CountryDB == "" && l.ASNDB == "" {
		return errors.New("risk location: set country_db, asn_db or both")
	}
	for _, w := range []struct {
		name   string
		points int
		lowest int
	}{
		{"country_change", l.CountryChange, 0},
		{"asn_change", l.ASNChange, 0},
		{"impossible_travel", l.ImpossibleTravel, 0},
		{"country_denied", l.CountryDenied, 1},
	} {
		if err := checkWeight("risk location "+w.name, w.points, w.lowest); err != nil {
			return err
		}
	}
	lists := len(l.AllowCountries) > 0 || len(l.DenyCountries) > 0
	if l.CountryChange == 0 && l.ASNChange == 0 && l.ImpossibleTravel == 0 && !lists {
		return errors.New("risk location: no signal enabled; give points to country_change, asn_change or impossible_travel, or list allow_countries or deny_countries")
	}
	if len(l.AllowCountries) > 0 && len(l.DenyCountries) > 0 {
		return errors.New("risk location: use allow_countries or deny_countries, not both")
	}
	if (l.CountryChange > 0 || l.ImpossibleTravel > 0 || lists) && l.CountryDB == "" {
		return errors.New("risk location country_db: required by country_change, impossible_travel and the country lists")
	}
	if l.ASNChange > 0 && l.ASNDB == "" {
		return errors.New("risk location asn_db: required by asn_change")
	}
	if l.MaxSpeedKMH < 1 {
		return fmt.Errorf("risk location max_speed_kmh: %d must be a positive speed in km/h", l.MaxSpeedKMH)
	}
	field, list := "allow_countries", l.AllowCountries
	if len(l.DenyCountries) > 0 {
		field, list = "deny_countries", l.DenyCountries
	}
	for i, cc := range list {
		if !countryPattern.MatchString(cc) {
			return fmt.Errorf("risk location %s: %q is not an upper-case ISO 3166-1 alpha-2 code such as GB", field, cc)
		}
		if slices.Contains(list[:i], cc) {
			return fmt.Errorf("risk location %s: %q is listed twice", field, cc)
		}
	}
	return nil
}

func validateFrequency(d *Config) error {
	f := d.Frequency
	if f == nil {
		return nil
	}
	if w := time.Duration(f.Window); w < time.Second || w > 24*time.Hour {
		return fmt.Errorf("risk frequency window: %s must be from 1s to 24h", w)
	}
	if f.Limit < 1 || f.Limit > maxLimit {
		return fmt.Errorf("risk frequency limit: %d must be from 1 to %d requests", f.Limit, maxLimit)
	}
	if f.IPLimit < 1 || f.IPLimit > maxLimit {
		return fmt.Errorf("risk frequency ip_limit: %d must be from 1 to %d requests", f.IPLimit, maxLimit)
	}
	if f.Capacity < minCapacity || f.Capacity > maxCapacity {
		return fmt.Errorf("risk frequency capacity: %d must be from %d to %d entries", f.Capacity, minCapacity, maxCapacity)
	}
	return checkWeight("risk frequency weight", f.Weight, 1)
}

func checkWeight(field string, w, lowest int) error {
	if w < lowest || w > 100 {
		return fmt.Errorf("%s: %d must be from %d to 100 points", field, w, lowest)
	}
	return nil
}
