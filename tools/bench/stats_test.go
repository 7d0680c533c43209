package main

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(c.xs); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
}

func TestMedianIntervalNeedsRounds(t *testing.T) {
	if _, ok := medianInterval([]float64{1, 2, 3, 4, 5, 6, 7}); ok {
		t.Fatal("an interval from 7 rounds")
	}
}

func TestMedianIntervalHoldsTheMedianAndNarrowsWithRounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	draw := func(n int) []float64 {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = 0.96 + 0.04*rng.NormFloat64()
		}
		return xs
	}
	few, many := draw(10), draw(400)
	ciFew, ok1 := medianInterval(few)
	ciMany, ok2 := medianInterval(many)
	if !ok1 || !ok2 {
		t.Fatal("no interval")
	}
	for _, c := range []struct {
		xs []float64
		ci interval
	}{{few, ciFew}, {many, ciMany}} {
		if m := median(c.xs); m < c.ci.lo || m > c.ci.hi {
			t.Errorf("median %.4f outside its interval %.4f–%.4f", m, c.ci.lo, c.ci.hi)
		}
	}
	if wf, wm := ciFew.hi-ciFew.lo, ciMany.hi-ciMany.lo; wm >= wf/2 {
		t.Errorf("400 rounds gave an interval %.4f wide, 10 rounds %.4f: it should narrow", wm, wf)
	}
	if ciMany.lo > 0.96 || ciMany.hi < 0.96 {
		t.Errorf("400 rounds around 0.96: interval %.4f–%.4f misses it", ciMany.lo, ciMany.hi)
	}
	if again, _ := medianInterval(many); again != ciMany {
		t.Error("the same rounds gave another interval: a report could not be reproduced from its figures")
	}
}

func TestJudgement(t *testing.T) {
	for _, c := range []struct {
		est  float64
		ci   interval
		ok   bool
		want string
	}{
		{0.97, interval{0.955, 0.98}, true, "met"},
		{0.93, interval{0.92, 0.945}, true, "**missed**"},
		{0.96, interval{0.94, 0.97}, true, "**not shown**: the median clears"},
		{0.94, interval{0.93, 0.96}, true, "**not shown**: the median falls short"},
		{0.96, interval{}, false, "met by the median"},
		{0.94, interval{}, false, "**missed** by the median"},
		{0.95, interval{0.95, 0.96}, true, "met"}, // "at least": the bound counts
	} {
		if got := judgement(c.est, c.ci, c.ok, 0.95); !strings.HasPrefix(got, c.want) {
			t.Errorf("judgement(%v, %+v, %v) = %q, want it to start %q", c.est, c.ci, c.ok, got, c.want)
		}
	}
}
