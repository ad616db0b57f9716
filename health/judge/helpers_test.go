package judge_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/shipprod/shipprod/health/judge"
)

// rng returns a deterministic source for one seed.
func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// lognormal draws n latency-like values whose median is median and whose
// log has standard deviation sigma (sigma 0.2 ≈ 20% spread between points).
func lognormal(r *rand.Rand, n int, median, sigma float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = median * math.Exp(sigma*r.NormFloat64())
	}
	return s
}

// poisson draws n counts with mean lambda (small lambda: many ties and
// zeros, like errors per scrape).
func poisson(r *rand.Rand, n int, lambda float64) []float64 {
	s := make([]float64, n)
	limit := math.Exp(-lambda)
	for i := range s {
		k, p := 0, r.Float64()
		for p > limit {
			k++
			p *= r.Float64()
		}
		s[i] = float64(k)
	}
	return s
}

func scale(s []float64, f float64) []float64 {
	out := make([]float64, len(s))
	for i, v := range s {
		out[i] = v * f
	}
	return out
}

// mustJudge builds a Judge or fails the test.
func mustJudge(t testing.TB, cfg judge.Config) *judge.Judge {
	t.Helper()
	j, err := judge.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// classifyOne judges a single metric and returns its result.
func classifyOne(t testing.TB, cfg judge.Config, m judge.MetricConfig, s judge.Samples) judge.MetricResult {
	t.Helper()
	cfg.Metrics = []judge.MetricConfig{m}
	res, err := mustJudge(t, cfg).Judge(map[string]judge.Samples{m.Name: s})
	if err != nil {
		t.Fatal(err)
	}
	return res.Metrics[0]
}
