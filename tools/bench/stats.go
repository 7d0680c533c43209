package main

import (
	"math/rand/v2"
	"slices"
)

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return sortedMedian(s)
}

func sortedMedian(s []float64) float64 {
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// interval is a two-sided confidence interval for a median.
type interval struct{ lo, hi float64 }

// minRoundsForInterval is the fewest rounds a bootstrap interval is worth
// computing from: below it the resamples are too few distinct medians to
// say anything.
const minRoundsForInterval = 8

// medianInterval is a 95% percentile-bootstrap confidence interval for the
// median of xs: how far the median of paired round figures could be from
// the one a much longer run would settle on, given the spread between the
// rounds. The generator is seeded from the data so a report is
// reproducible from its own figures.
func medianInterval(xs []float64) (interval, bool) {
	n := len(xs)
	if n < minRoundsForInterval {
		return interval{}, false
	}
	const resamples = 4000
	var seed uint64
	for _, x := range xs {
		seed = seed*1099511628211 + uint64(x*1e6)
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	meds := make([]float64, resamples)
	sample := make([]float64, n)
	for i := range meds {
		for j := range sample {
			sample[j] = xs[rng.IntN(n)]
		}
		slices.Sort(sample)
		meds[i] = sortedMedian(sample)
	}
	slices.Sort(meds)
	return interval{lo: meds[resamples*25/1000], hi: meds[resamples*975/1000-1]}, true
}

// judgement says whether a run shows a "at least target" claim: met when
// the whole interval clears it, missed when the whole interval falls
// short, and unresolved when the interval straddles it — the run cannot
// tell, and a longer one (more rounds) may.
func judgement(est float64, ci interval, ok bool, target float64) string {
	switch {
	case !ok:
		if est >= target {
			return "met by the median (too few rounds for an interval)"
		}
		return "**missed** by the median (too few rounds for an interval)"
	case ci.lo >= target:
		return "met (the whole interval clears it)"
	case ci.hi < target:
		return "**missed** (the whole interval falls short)"
	case est >= target:
		return "**not shown**: the median clears it but the interval reaches below"
	default:
		return "**not shown**: the median falls short but the interval reaches above"
	}
}
