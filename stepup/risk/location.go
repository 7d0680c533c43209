package risk

import (
	"math"
	"net/netip"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// staleDatabase is the age past which a MaxMind database is reported as
// out of date when it loads (MaxMind publishes updates weekly).
const staleDatabase = 60 * 24 * time.Hour

// location is the country_change, asn_change, impossible_travel and
// country_denied signals.
type location struct {
	countryChange int
	asnChange     int
	travel        int
	denied        int
	maxSpeedKMH   float64
	failOpen      bool
	hasList       bool
	allowList     bool          // listed countries are the allowed ones (else the denied ones)
	listed        [26 * 26]bool // by country code, see countryIndex
	logger        *zap.Logger
	now           func() time.Time

	country   atomic.Pointer[geoDB] // nil until loaded
	asn       atomic.Pointer[geoDB]
	holds     geoHolds    // what country and asn hold in the process-wide geoDBs
	lookupErr atomic.Bool // a lookup error was logged
}

func newLocation(c *LocationConfig, logger *zap.Logger, now func() time.Time, w *watcher) *location {
	l := &location{
		countryChange: c.CountryChange,
		asnChange:     c.ASNChange,
		travel:        c.ImpossibleTravel,
		denied:        c.CountryDenied,
		maxSpeedKMH:   float64(c.MaxSpeedKMH),
		failOpen:      c.FailOpen,
		logger:        logger,
		now:           now,
	}
	list := c.DenyCountries
	if len(c.AllowCountries) > 0 {
		list, l.allowList = c.AllowCountries, true
	}
	for _, cc := range list {
		l.listed[countryIndex([2]byte{cc[0], cc[1]})] = true
		l.hasList = true
	}
	if c.CountryDB != "" {
		w.add("location country_db", c.CountryDB, failMode(c.FailOpen, "location"), func(path string) error {
			return l.load(path, "country", &l.country)
		}).required = !c.Optional
	}
	if c.ASNDB != "" {
		w.add("location asn_db", c.ASNDB, failMode(c.FailOpen, "location"), func(path string) error {
			return l.load(path, "asn", &l.asn)
		}).required = !c.Optional
	}
	return l
}

func (l *location) load(path, want string, dst *atomic.Pointer[geoDB]) error {
	db, key, reused, err := sharedGeoDB(path, want)
	if err != nil {
		return err
	}
	if !l.holds.swap(want, key) {
		return nil // the engine closed meanwhile
	}
	built := db.reader.Metadata.BuildTime()
	if age := l.now().Sub(built); age > staleDatabase {
		l.logger.Warn("risk: MaxMind database is out of date; update it (geoipupdate)",
			zap.String("path", path), zap.Time("built", built), zap.Duration("age", age))
	}
	if want == "country" && l.travel > 0 && !db.city {
		l.logger.Error("risk: impossible_travel needs a City database with coordinates; it is unavailable until country_db is one",
			zap.String("path", path), zap.String("database_type", db.kind))
	}
	dst.Store(db)
	l.logger.Info("risk: MaxMind database loaded", zap.String("path", path), zap.String("database_type", db.kind),
		zap.Time("built", built), zap.Bool("shared_with_another_config", reused))
	return nil
}

// countryIndex maps an upper-case two-letter code to 0..675.
func countryIndex(cc [2]byte) int {
	a, b := int(cc[0])-'A', int(cc[1])-'A'
	if a < 0 || a >= 26 || b < 0 || b >= 26 {
		return -1
	}
	return a*26 + b
}

func (l *location) countryDenied(cc [2]byte) bool {
	i := countryIndex(cc)
	if i < 0 {
		return false // unknown to the database: not scored
	}
	return l.listed[i] != l.allowList
}

func (l *location) evaluate(req *Request, ip netip.Addr, out *Result) {
	login := req.HasLogin
	var cdb *geoDB
	var rec *geoRecord
	needCountry := l.hasList || (login && (l.countryChange > 0 || l.travel > 0))
	if needCountry {
		cdb, rec = l.lookup(&l.country, ip)
	}
	switch {
	case !needCountry:
	case cdb == nil:
		if l.hasList {
			out.add(SignalCountryDenied, closedPoints(l.failOpen, l.denied), true)
		}
		if login && l.countryChange > 0 {
			out.add(SignalCountryChange, closedPoints(l.failOpen, l.countryChange), true)
		}
	case rec != nil: // nil: not in the database (private networks), nothing to score
		if l.hasList && l.countryDenied(rec.country) {
			out.add(SignalCountryDenied, l.denied, false)
		}
		was := req.Login.Country
		if login && l.countryChange > 0 && was != ([2]byte{}) && rec.country != ([2]byte{}) && rec.country != was {
			out.add(SignalCountryChange, l.countryChange, false)
		}
	}
	if login && l.asnChange > 0 {
		g, arec := l.lookup(&l.asn, ip)
		switch {
		case g == nil:
			out.add(SignalASNChange, closedPoints(l.failOpen, l.asnChange), true)
		case arec != nil && arec.asn != 0 && req.Login.ASN != 0 && arec.asn != req.Login.ASN:
			out.add(SignalASNChange, l.asnChange, false)
		}
	}
	if login && l.travel > 0 {
		switch {
		case cdb == nil || !cdb.city:
			out.add(SignalImpossibleTravel, closedPoints(l.failOpen, l.travel), true)
		case rec != nil && impossibleTravel(&req.Login, rec, req.Now, l.maxSpeedKMH):
			out.add(SignalImpossibleTravel, l.travel, false)
		}
	}
}

// lookup finds ip in a database. g is nil when the database is not loaded
// or the lookup failed (logged once); rec is nil when ip is not in it.
func (l *location) lookup(db *atomic.Pointer[geoDB], ip netip.Addr) (g *geoDB, rec *geoRecord) {
	if g = db.Load(); g == nil {
		return nil, nil
	}
	rec, err := g.lookup(ip)
	if err != nil {
		if l.lookupErr.CompareAndSwap(false, true) {
			l.logger.Error("risk: MaxMind lookup failed; treating the database as unavailable for such requests (logged once)",
				zap.String("database_type", g.kind), zap.Error(err))
		}
		return nil, nil
	}
	return g, rec
}

// record returns what Record stores about ip's location.
func (l *location) record(ip netip.Addr, r *Recorded) {
	if _, rec := l.lookup(&l.country, ip); rec != nil {
		r.Country = rec.country
		if rec.hasLoc {
			r.Lat, r.Lon, r.Radius = rec.lat, rec.lon, rec.radius
		}
	}
	if _, rec := l.lookup(&l.asn, ip); rec != nil {
		r.ASN = rec.asn
	}
}

// impossibleTravel reports whether getting from the login location to rec
// by now needs more than maxKMH. Both accuracy radii are taken off the
// distance first, so imprecise locations (a country's centre) do not fire.
func impossibleTravel(from *Recorded, to *geoRecord, now time.Time, maxKMH float64) bool {
	if from.At == 0 || (from.Lat == 0 && from.Lon == 0) || !to.hasLoc || (from.Lat == to.lat && from.Lon == to.lon) {
		return false
	}
	km := distanceKM(float64(from.Lat), float64(from.Lon), float64(to.lat), float64(to.lon)) -
		float64(from.Radius) - float64(to.radius)
	if km <= 0 {
		return false
	}
	hours := max(float64(now.Unix()-from.At), 1) / 3600
	return km/hours > maxKMH
}

// earthRadiusKM is the mean Earth radius.
const earthRadiusKM = 6371.0088

// distanceKM is the great-circle (haversine) distance between two points
// given in degrees.
func distanceKM(lat1, lon1, lat2, lon2 float64) float64 {
	const rad = math.Pi / 180
	dLat := (lat2 - lat1) * rad
	dLon := (lon2 - lon1) * rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusKM * math.Asin(math.Sqrt(min(a, 1)))
}
