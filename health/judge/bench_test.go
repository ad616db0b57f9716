package judge_test

import (
	"fmt"
	"testing"

	"github.com/shipprod/shipprod/health/judge"
)

// BenchmarkJudge20Metrics judges 20 metrics of 300 canary and 300 baseline
// points each (five hours of one point per minute; the normal
// approximation and the pairwise-difference selection).
func BenchmarkJudge20Metrics(b *testing.B) {
	benchmarkJudge(b, 20, 300)
}

// BenchmarkJudge20MetricsSmall judges 20 metrics of 30 points per sample
// (the exact distribution, computed once and shared by the 20).
func BenchmarkJudge20MetricsSmall(b *testing.B) {
	benchmarkJudge(b, 20, 30)
}

func benchmarkJudge(b *testing.B, metrics, points int) {
	cfg := judge.Config{}
	samples := map[string]judge.Samples{}
	for i := range metrics {
		name := fmt.Sprintf("metric-%02d", i)
		cfg.Metrics = append(cfg.Metrics, judge.MetricConfig{Name: name})
		r := rng(uint64(i))
		shift := 1.0
		if i%4 == 0 {
			shift = 1.1
		}
		samples[name] = judge.Samples{Canary: lognormal(r, points, 250*shift, 0.2), Baseline: lognormal(r, points, 250, 0.2)}
	}
	j := mustJudge(b, cfg)
	for b.Loop() {
		if _, err := j.Judge(samples); err != nil {
			b.Fatal(err)
		}
	}
}
