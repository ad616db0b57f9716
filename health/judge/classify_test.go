package judge_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/shipprod/shipprod/health/judge"
)

func constant(n int, v float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// withOutliers returns s with the values added at the end.
func withOutliers(s []float64, vals ...float64) []float64 {
	return append(slices.Clone(s), vals...)
}

func TestClassify(t *testing.T) {
	base30 := lognormal(rng(1), 30, 250, 0.2)
	up30 := lognormal(rng(2), 30, 250*1.3, 0.2)
	down30 := lognormal(rng(3), 30, 250/1.3, 0.2)
	base300 := lognormal(rng(4), 300, 250, 0.1)
	up5pct300 := lognormal(rng(5), 300, 250*1.05, 0.1)
	nan := math.NaN()
	tests := []struct {
		name    string
		metric  judge.MetricConfig
		canary  []float64
		base    []float64
		want    judge.Class
		reasons []string // substrings of the reason
	}{
		{name: "identical samples pass", canary: base30, base: slices.Clone(base30), want: judge.ClassPass,
			reasons: []string{"canary and baseline data are identical (30 points) — pass"}},
		{name: "a single value across both passes", canary: constant(12, 5), base: constant(40, 5), want: judge.ClassPass,
			reasons: []string{"every value is 5 — pass"}},
		{name: "all 5 against all 3 is high without noise", canary: constant(20, 5), base: constant(20, 3), want: judge.ClassHigh,
			reasons: []string{"canary 5 vs baseline 3 (×1.667, HL shift +2, 98% CI [+2, +2]) — high"}},
		{name: "+30% is high", canary: up30, base: base30, want: judge.ClassHigh, reasons: []string{"— high"}},
		{name: "+30% with direction decrease passes", metric: judge.MetricConfig{Direction: judge.Decrease},
			canary: up30, base: base30, want: judge.ClassPass, reasons: []string{"— pass: higher, but only a decrease fails this metric"}},
		{name: "−23% with direction decrease is low", metric: judge.MetricConfig{Direction: judge.Decrease},
			canary: down30, base: base30, want: judge.ClassLow, reasons: []string{"— low"}},
		{name: "−23% with direction increase passes", metric: judge.MetricConfig{Direction: judge.Increase},
			canary: down30, base: base30, want: judge.ClassPass, reasons: []string{"— pass: lower, but only an increase fails this metric"}},
		{name: "−23% with direction either is low", canary: down30, base: base30, want: judge.ClassLow},
		{name: "−23% within allowed_decrease 0.7 passes", metric: judge.MetricConfig{AllowedDecrease: 0.7},
			canary: down30, base: base30, want: judge.ClassPass, reasons: []string{"— pass: lower, but ×0.8194 is above allowed_decrease ×0.7"}},
		{name: "+5% over 300 points is high by default", canary: up5pct300, base: base300, want: judge.ClassHigh},
		{name: "+5% within allowed_increase 1.10 passes", metric: judge.MetricConfig{AllowedIncrease: 1.10},
			canary: up5pct300, base: base300, want: judge.ClassPass, reasons: []string{"— pass: higher, but ×1.0", "is under allowed_increase ×1.1"}},
		{name: "+5% under min_effect passes", metric: judge.MetricConfig{MinEffect: 20, Unit: "ms"},
			canary: up5pct300, base: base300, want: judge.ClassPass, reasons: []string{"under min_effect 20ms"}},
		{name: "too few canary points: no data", canary: base30[:9], base: base30, want: judge.ClassNoData,
			reasons: []string{"m: canary has 9 points, baseline 30; at least 10 needed in each — no data"}},
		{name: "no data that must be there fails the metric", metric: judge.MetricConfig{MustHaveData: true},
			canary: nil, base: base30, want: judge.ClassNoDataFail, reasons: []string{"canary has 0 points", "— no data, which this metric must have"}},
		{name: "NaN and Inf are removed", canary: withOutliers(up30, nan, nan, math.Inf(1)), base: withOutliers(base30, nan),
			want: judge.ClassHigh, reasons: []string{"3 NaN/Inf removed from the canary, 1 NaN/Inf removed from the baseline"}},
		{name: "mostly NaN is no data", canary: withOutliers(base30[:8], nan, nan, nan, nan), base: base30,
			want: judge.ClassNoData, reasons: []string{"canary has 8 points", "4 NaN/Inf removed from the canary"}},
		// Three 100-second requests lift the canary's mean far beyond
		// allowed_increase; removed as outliers, +5% remains.
		{name: "outliers kept inflate the mean ratio", metric: judge.MetricConfig{AllowedIncrease: 1.10},
			canary: withOutliers(up5pct300, 1e5, 1e5, 1e5), base: base300, want: judge.ClassHigh},
		{name: "outliers removed", metric: judge.MetricConfig{AllowedIncrease: 1.10, Outliers: "remove"},
			canary: withOutliers(up5pct300, 1e5, 1e5, 1e5), base: base300, want: judge.ClassPass,
			reasons: []string{"3 outliers removed from the canary", "under allowed_increase"}},
		{name: "a zero baseline has no ratio; the interval decides", metric: judge.MetricConfig{Direction: judge.Increase},
			canary: withOutliers(constant(20, 0), 1, 2, 1, 3, 1, 2, 1, 1, 2, 1), base: constant(30, 0), want: judge.ClassHigh,
			reasons: []string{"ratio n/a"}},
		{name: "a zero baseline with min_effect passes a small rise", metric: judge.MetricConfig{Direction: judge.Increase, MinEffect: 2},
			canary: withOutliers(constant(20, 0), 1, 2, 1, 3, 1, 2, 1, 1, 2, 1), base: constant(30, 0), want: judge.ClassPass,
			reasons: []string{"under min_effect 2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.metric
			m.Name = "m"
			got := classifyOne(t, judge.Config{}, m, judge.Samples{Canary: tc.canary, Baseline: tc.base})
			t.Log(got.Reason)
			if got.Class != tc.want {
				t.Errorf("class %s, want %s; reason: %s", got.Class, tc.want, got.Reason)
			}
			for _, r := range tc.reasons {
				if !strings.Contains(got.Reason, r) {
					t.Errorf("reason %q does not say %q", got.Reason, r)
				}
			}
			if !strings.HasPrefix(got.Reason, "m: ") {
				t.Errorf("reason %q does not start with the metric's name", got.Reason)
			}
		})
	}
}

// The reason says what a reader needs, with the metric's unit.
func TestReasonFormat(t *testing.T) {
	var base, canary []float64
	// The differences are 60+2t for t = −29…29, t occurring 30−|t|
	// times; 276 of them are ≤ 46 and 300 ≤ 48, and the normal
	// approximation puts the 98% bound's order at 450 − 2.326·√(900·61/12)
	// ≈ 293, between the two, so the bound is 48 (and 72 by symmetry).
	for i := range 30 {
		d := float64(2*i - 29) // −29…29: means 250 and 310
		base = append(base, 250+d)
		canary = append(canary, 310+d)
	}
	tests := []struct {
		unit  string
		scale float64
		want  string
	}{
		{"ms", 1, "p95-latency: canary 310ms vs baseline 250ms (×1.24, HL shift +60ms, 98% CI [+48ms, +72ms]) — high"},
		{"seconds", 0.001, "p95-latency: canary 310ms vs baseline 250ms (×1.24, HL shift +60ms, 98% CI [+48ms, +72ms]) — high"},
		{"", 1, "p95-latency: canary 310 vs baseline 250 (×1.24, HL shift +60, 98% CI [+48, +72]) — high"},
		{"req/s", 1, "p95-latency: canary 310 req/s vs baseline 250 req/s (×1.24, HL shift +60 req/s, 98% CI [+48 req/s, +72 req/s]) — high"},
		{"ratio", 0.001, "p95-latency: canary 31% vs baseline 25% (×1.24, HL shift +6pp, 98% CI [+4.8pp, +7.2pp]) — high"},
	}
	for _, tc := range tests {
		got := classifyOne(t, judge.Config{}, judge.MetricConfig{Name: "p95-latency", Unit: tc.unit},
			judge.Samples{Canary: scale(canary, tc.scale), Baseline: scale(base, tc.scale)})
		if got.Reason != tc.want {
			t.Errorf("unit %q:\n got %s\nwant %s", tc.unit, got.Reason, tc.want)
		}
	}
}

// Counts that are mostly zero in both samples: almost every pairwise
// difference is 0, so the estimate and the interval are [0, 0], yet the
// canary is higher in far more pairs than lower. Kayenta's own test data
// (its root finder returns an interval just above 0 there).
func TestMostlyZeroCountsAreJudgedOnTies(t *testing.T) {
	c := loadKayenta(t)["mostly_zero"]
	got := classifyOne(t, judge.Config{Confidence: 0.95}, judge.MetricConfig{Name: "errors", Direction: judge.Increase},
		judge.Samples{Canary: c.Experiment, Baseline: c.Control})
	if got.Class != judge.ClassHigh {
		t.Fatalf("class %s, want high: %s", got.Class, got.Reason)
	}
	if got.Test.Estimate != 0 || got.Test.Lower != 0 || got.Test.Upper != 0 {
		t.Errorf("estimate %v CI [%v, %v], want 0 [0, 0]", got.Test.Estimate, got.Test.Lower, got.Test.Upper)
	}
	want := "HL shift 0, 95% CI [0, 0]) — high: of 44100 canary–baseline pairs the canary is higher in"
	if !strings.Contains(got.Reason, want) {
		t.Errorf("reason %q does not say %q", got.Reason, want)
	}
	// The same baseline against itself reshuffled passes.
	shuffled := slices.Clone(c.Control)
	slices.Reverse(shuffled)
	same := classifyOne(t, judge.Config{Confidence: 0.95}, judge.MetricConfig{Name: "errors"},
		judge.Samples{Canary: shuffled, Baseline: c.Control})
	if same.Class != judge.ClassPass {
		t.Errorf("baseline against itself: %s", same.Reason)
	}
}

func TestCriticalFailureIsMarked(t *testing.T) {
	up := lognormal(rng(2), 30, 325, 0.2)
	base := lognormal(rng(1), 30, 250, 0.2)
	got := classifyOne(t, judge.Config{}, judge.MetricConfig{Name: "m", Critical: true}, judge.Samples{Canary: up, Baseline: base})
	if !got.CriticalFailure() || !strings.HasSuffix(got.Reason, "— high (critical)") {
		t.Errorf("critical high: CriticalFailure %v, reason %s", got.CriticalFailure(), got.Reason)
	}
	pass := classifyOne(t, judge.Config{}, judge.MetricConfig{Name: "m", Critical: true}, judge.Samples{Canary: base, Baseline: base})
	if pass.CriticalFailure() {
		t.Error("a passing critical metric is a critical failure")
	}
}

// Kayenta's tolerance: the interval must clear a quarter of the estimate,
// not just zero. Two evenly spread samples 30 apart in steps of 2 have the
// 98% interval estimate ± 12 (see TestReasonFormat), so a shift of 14.5 has
// the interval [2.5, 26.5] — above 0 but not above 3.625 — and passes,
// while 18.5 has [6.5, 30.5], above 4.625, and is high.
func TestToleranceRule(t *testing.T) {
	var base []float64
	for i := range 30 {
		base = append(base, float64(250+2*i-29))
	}
	tests := []struct {
		shift  float64
		want   judge.Class
		reason string
	}{
		{14.5, judge.ClassPass, "HL shift +14.5, 98% CI [+2.5, +26.5]) — pass: the interval does not clear 25% of the shift (tolerance)"},
		{18.5, judge.ClassHigh, "HL shift +18.5, 98% CI [+6.5, +30.5]) — high"},
	}
	for _, tc := range tests {
		canary := make([]float64, len(base))
		for i, v := range base {
			canary[i] = v + tc.shift
		}
		got := classifyOne(t, judge.Config{}, judge.MetricConfig{Name: "m"}, judge.Samples{Canary: canary, Baseline: base})
		if got.Class != tc.want || !strings.Contains(got.Reason, tc.reason) {
			t.Errorf("shift %v: %s, want %s saying %q", tc.shift, got.Reason, tc.want, tc.reason)
		}
	}
}
