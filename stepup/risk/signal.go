package risk

import "strconv"

// Signal names one risk signal. Its String form is stable: it appears in
// placeholders, logs and RFC 9470 error descriptions.
type Signal uint8

// The signals, in the order Evaluate reports them.
const (
	SignalIPReputation     Signal = iota // the client IP is on a configured list
	SignalCountryDenied                  // the client IP's country is denied or not allowed
	SignalCountryChange                  // the country differs from the one recorded at login
	SignalASNChange                      // the network (ASN) differs from the one recorded at login
	SignalImpossibleTravel               // reaching here from the login location needs more than max_speed_kmh
	SignalFrequencyIP                    // the client IP (IPv6: its /64) sent more than ip_limit requests in the window
	SignalFrequencySession               // the session sent more than limit requests in the window
	SignalNewDevice                      // the device differs from the one recorded at login

	// MaxSignals is the number of signals: a Result holds at most one
	// contribution per signal.
	MaxSignals = iota
)

var signalNames = [MaxSignals]string{
	SignalIPReputation:     "ip_reputation",
	SignalCountryDenied:    "country_denied",
	SignalCountryChange:    "country_change",
	SignalASNChange:        "asn_change",
	SignalImpossibleTravel: "impossible_travel",
	SignalFrequencyIP:      "frequency_ip",
	SignalFrequencySession: "frequency_session",
	SignalNewDevice:        "new_device",
}

// String returns the signal's snake_case name.
func (s Signal) String() string {
	if int(s) < len(signalNames) {
		return signalNames[s]
	}
	return "signal_" + strconv.Itoa(int(s))
}

// Contribution is what one signal added to a score.
type Contribution struct {
	Signal Signal
	Points int
	// Unavailable marks a signal whose data source is missing or broken: it
	// contributes its full weight when failing closed, 0 when failing open.
	Unavailable bool
}

// Result is the outcome of one evaluation. It is a value the caller owns and
// reuses, so that evaluating allocates nothing.
type Result struct {
	// Score is the sum of the contributions, clamped to 0-100.
	Score int
	// N is how many entries of Contributions are set.
	N             int
	Contributions [MaxSignals]Contribution
}

func (r *Result) reset() {
	r.Score, r.N = 0, 0
}

func (r *Result) add(s Signal, points int, unavailable bool) {
	r.Contributions[r.N] = Contribution{Signal: s, Points: points, Unavailable: unavailable}
	r.N++
	r.Score += points
}

// Has reports whether the signal contributed (possibly 0 points, when its
// source is unavailable and it fails open).
func (r *Result) Has(s Signal) bool {
	for _, c := range r.Contributions[:r.N] {
		if c.Signal == s {
			return true
		}
	}
	return false
}

// Reasons lists the contributions as `signal=points`, space separated, for
// example `ip_reputation=40 new_device=30`; a signal whose source is
// unavailable reads `ip_reputation=40(unavailable)`. Empty when nothing
// contributed. The text has no quotes or backslashes, so it fits in an RFC
// 9470 error_description as it is.
func (r *Result) Reasons() string {
	if r.N == 0 {
		return ""
	}
	return string(r.AppendReasons(make([]byte, 0, 24*r.N)))
}

// AppendReasons appends the Reasons text to b.
func (r *Result) AppendReasons(b []byte) []byte {
	for i, c := range r.Contributions[:r.N] {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, c.Signal.String()...)
		b = append(b, '=')
		b = strconv.AppendInt(b, int64(c.Points), 10)
		if c.Unavailable {
			b = append(b, "(unavailable)"...)
		}
	}
	return b
}
