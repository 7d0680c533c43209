package state

import "maps"

// revocationSet is a replica's local copy of the revocation log, folded
// into the latest cut-off per subject and per sid. It is immutable once
// published: lookups read it without locks or allocations, and the rare
// updates copy what they change.
type revocationSet struct {
	byIssuer map[string]*issuerRevocations
}

type issuerRevocations struct {
	bySub map[string]int64 // subject → sessions issued at or before are revoked
	bySID map[string]int64
}

// revoked reports whether a session of sub with sid at iss, issued at unix
// second issued, is revoked.
func (s *revocationSet) revoked(iss, sub, sid string, issued int64) bool {
	if s == nil || len(s.byIssuer) == 0 {
		return false
	}
	r := s.byIssuer[iss]
	if r == nil {
		return false
	}
	if before, ok := r.bySub[sub]; ok && issued <= before {
		return true
	}
	if sid != "" {
		if before, ok := r.bySID[sid]; ok && issued <= before {
			return true
		}
	}
	return false
}

// with returns a copy of s with rs applied; a later cut-off wins.
func (s *revocationSet) with(rs []Revocation) *revocationSet {
	out := &revocationSet{byIssuer: map[string]*issuerRevocations{}}
	if s != nil {
		maps.Copy(out.byIssuer, s.byIssuer)
	}
	copied := map[string]bool{}
	for _, rv := range rs {
		if rv.Issuer == "" || (rv.Subject == "" && rv.SID == "") {
			continue
		}
		r := out.byIssuer[rv.Issuer]
		if !copied[rv.Issuer] {
			n := &issuerRevocations{bySub: map[string]int64{}, bySID: map[string]int64{}}
			if r != nil {
				maps.Copy(n.bySub, r.bySub)
				maps.Copy(n.bySID, r.bySID)
			}
			r = n
			out.byIssuer[rv.Issuer] = r
			copied[rv.Issuer] = true
		}
		// A logout token with a sid ends that session only; one with a
		// subject alone ends all of the subject's sessions.
		m, k := r.bySub, rv.Subject
		if rv.SID != "" {
			m, k = r.bySID, rv.SID
		}
		if rv.Before > m[k] {
			m[k] = rv.Before
		}
	}
	return out
}

// size is the number of cut-offs held, for the metric.
func (s *revocationSet) size() int {
	n := 0
	if s != nil {
		for _, r := range s.byIssuer {
			n += len(r.bySub) + len(r.bySID)
		}
	}
	return n
}
