package judge_test

import (
	"fmt"
	"math"

	"github.com/shipprod/shipprod/health/judge"
)

// series returns n values per minute around level, wobbling by ±spread.
func series(n int, level, spread, phase float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = level + spread*math.Sin(float64(i)*1.3+phase)
	}
	return s
}

// A canary whose p95 latency rose by a quarter fails, although its errors
// and throughput are as good as the baseline's. Each metric was sampled
// once a minute for 30 minutes from both releases.
func Example() {
	j, err := judge.New(judge.Config{
		// pass 95, marginal 75, confidence 0.98, min_points 10: the defaults
		Metrics: []judge.MetricConfig{
			{Name: "p95-latency", Unit: "ms", Direction: judge.Increase, AllowedIncrease: 1.10, MinEffect: 5},
			{Name: "error-rate", Unit: "ratio", Direction: judge.Increase, MinEffect: 0.001, Critical: true},
			{Name: "throughput", Unit: "req/s", Direction: judge.Decrease, AllowedDecrease: 0.9},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := j.Judge(map[string]judge.Samples{
		"p95-latency": {Canary: series(30, 310, 30, 0), Baseline: series(30, 250, 25, 1)},
		"error-rate":  {Canary: series(30, 0.004, 0.002, 2), Baseline: series(30, 0.004, 0.002, 3)},
		"throughput":  {Canary: series(30, 120, 15, 4), Baseline: series(30, 121, 15, 5)},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// res.Verdict converts to shipprod.Verdict: shipprod.Verdict(res.Verdict).
	fmt.Println(res.Verdict, res.Score)
	fmt.Println(res.Reason)
	for _, m := range res.Metrics {
		fmt.Println(m.Reason)
	}
	// Output:
	// failed 66.67
	// score 66.67 < marginal 75: p95-latency high
	// p95-latency: canary 310ms vs baseline 250.7ms (×1.237, HL shift +59.5ms, 98% CI [+46.7ms, +71.4ms]) — high
	// error-rate: canary 0.4061% vs baseline 0.4009% (×1.013, HL shift +0.006944pp, 98% CI [-0.08108pp, +0.09961pp]) — pass: no significant difference
	// throughput: canary 119.6 req/s vs baseline 120.5 req/s (×0.9925, HL shift -0.9459 req/s, 98% CI [-7.411 req/s, +5.548 req/s]) — pass: no significant difference
}
