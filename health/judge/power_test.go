package judge_test

import (
	"math/rand/v2"
	"testing"

	"github.com/shipprod/shipprod/health/judge"
)

// scenario draws a canary and a baseline sample for one seed.
type scenario func(r *rand.Rand) judge.Samples

func latency(n int, sigma, shift float64) scenario {
	return func(r *rand.Rand) judge.Samples {
		base := lognormal(r, n, 250, sigma)
		return judge.Samples{Canary: lognormal(r, n, 250*shift, sigma), Baseline: base}
	}
}

func counts(n int, lambda, factor float64) scenario {
	return func(r *rand.Rand) judge.Samples {
		base := poisson(r, n, lambda)
		return judge.Samples{Canary: poisson(r, n, lambda*factor), Baseline: base}
	}
}

// rates classifies one metric over seeds 0…seeds-1 and returns the share
// of each class.
func rates(t *testing.T, seeds int, m judge.MetricConfig, draw scenario) map[judge.Class]float64 {
	t.Helper()
	m.Name = "m"
	j := mustJudge(t, judge.Config{Metrics: []judge.MetricConfig{m}})
	n := map[judge.Class]int{}
	for seed := range uint64(seeds) {
		res, err := j.Judge(map[string]judge.Samples{"m": draw(rng(seed))})
		if err != nil {
			t.Fatal(err)
		}
		n[res.Metrics[0].Class]++
	}
	out := map[judge.Class]float64{}
	for c, k := range n {
		out[c] = float64(k) / float64(seeds)
	}
	return out
}

// Canary and baseline drawn from one distribution: a metric that may fail
// either way fails in at most 1 − confidence = 2% of seeds (1% high, 1%
// low). The tolerance rule makes continuous data far more conservative
// than that; for counts with ties at zero the decision is the rank test
// itself, at its nominal level, so 500 seeds may see up to 4% by chance
// (the binomial 99.9% bound around 2%).
func TestFalsePositiveRate(t *testing.T) {
	either := judge.MetricConfig{Direction: judge.Either}
	tests := []struct {
		name  string
		draw  scenario
		seeds int
		max   float64
	}{
		{"latency, 30 points (exact distribution)", latency(30, 0.2, 1), 500, 0.02},
		{"latency, 10 points (exact distribution)", latency(10, 0.2, 1), 500, 0.02},
		{"latency, 300 points (normal approximation)", latency(300, 0.2, 1), 500, 0.02},
		{"error counts, mean 0.3 per point, 30 points (mostly zeros)", counts(30, 0.3, 1), 500, 0.04},
		{"error counts, mean 3 per point, 300 points (ties)", counts(300, 3, 1), 500, 0.04},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rates(t, tc.seeds, either, tc.draw)
			fp := r[judge.ClassHigh] + r[judge.ClassLow]
			t.Logf("false positives %.1f%% (high %.1f%%, low %.1f%%) over %d seeds", 100*fp, 100*r[judge.ClassHigh], 100*r[judge.ClassLow], tc.seeds)
			if fp > tc.max {
				t.Errorf("false-positive rate %.1f%% > %.0f%%", 100*fp, 100*tc.max)
			}
		})
	}
}

// Power: how often a real change is caught, over 500 seeds, for
// latency-like samples (lognormal; sigma 0.2 is about 20% spread between
// points) and counts. The measured rates are in the comments; the bounds
// leave room for the binomial spread of 500 seeds.
func TestPower(t *testing.T) {
	inc := judge.MetricConfig{Direction: judge.Increase}
	tenPercent := judge.MetricConfig{Direction: judge.Increase, AllowedIncrease: 1.10}
	tests := []struct {
		name     string
		metric   judge.MetricConfig
		draw     scenario
		min, max float64 // bounds on the share classified high
	}{
		// measured 100%
		{"+30%, 30 points, 15% spread", inc, latency(30, 0.15, 1.3), 0.95, 1},
		// measured 95.2%: the tolerance rule (interval above a quarter
		// of the estimate) costs the few percent the rank test alone
		// would catch.
		{"+30%, 30 points, 20% spread", inc, latency(30, 0.2, 1.3), 0.90, 1},
		// measured 99%
		{"+10%, 300 points, 20% spread", inc, latency(300, 0.2, 1.1), 0.95, 1},
		// measured 39.6%: significant but small
		{"+5%, 300 points, 20% spread", inc, latency(300, 0.2, 1.05), 0.25, 0.55},
		// measured 0.2%: allowed_increase 1.10 passes a +5% change
		{"+5%, 300 points, allowed_increase 1.10", tenPercent, latency(300, 0.2, 1.05), 0, 0.01},
		// measured 95.2% (as without allowed_increase): +30% is beyond it
		{"+30%, 30 points, allowed_increase 1.10", tenPercent, latency(30, 0.2, 1.3), 0.90, 1},
		// measured 77%: errors tripling from 0.1 per point, mostly zeros,
		// decided by the ties at 0.
		{"error counts ×3 from 0.1, 100 points", inc, counts(100, 0.1, 3), 0.65, 0.9},
		// measured 6.4%: counts of a few distinct values lose power, as
		// in Kayenta (see the package doc).
		{"error counts ×2 from 0.5, 30 points", inc, counts(30, 0.5, 2), 0, 0.15},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			high := rates(t, 500, tc.metric, tc.draw)[judge.ClassHigh]
			t.Logf("high in %.1f%% of 500 seeds", 100*high)
			if high < tc.min || high > tc.max {
				t.Errorf("high in %.1f%% of seeds, want %.0f%%–%.0f%%", 100*high, 100*tc.min, 100*tc.max)
			}
		})
	}
}
