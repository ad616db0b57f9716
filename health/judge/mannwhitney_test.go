package judge_test

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/shipprod/shipprod/health/judge"
)

// Published results of R's wilcox.test (two-sided unless said, continuity
// correction on) for data anyone can re-run.
func TestMannWhitneyReferenceValues(t *testing.T) {
	// Hollander & Wolfe (1973), p. 69: permeability constants of the human
	// chorioamnion at term (x) and at 12–26 weeks (y). R's wilcox.test help
	// page runs it: W = 35, one-sided exact p = 0.1272 (also derived by
	// enumeration in https://www.isibang.ac.in/~rsen/ASM1/RankSum.R), so
	// the two-sided exact p is 0.2544; the normal approximation without
	// correction gives one-sided p = 0.1103.
	hwX := []float64{0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46}
	hwY := []float64{1.15, 0.88, 0.90, 0.74, 1.21}
	// https://endmemo.com/r/wilcoxon.php: two samples with ties, so R uses
	// the normal approximation with tie and continuity corrections.
	emX := []float64{1, 5, 9, 24, 56, 21, 3, 7, 21, 4}
	emY1 := []float64{12, 15, 5, 9, 9, 14, 56, 22, 3, 7, 32, 5}
	emY2 := []float64{1233, 4356, 987, 39999, 1111, 200000}
	tests := []struct {
		name       string
		x, y       []float64
		confidence float64
		u, p       float64
		pTol       float64
		exact      bool
		// interval and estimate, when the reference gives them
		lower, upper, estimate float64
		checkCI                bool
	}{
		{name: "Hollander & Wolfe, exact", x: hwX, y: hwY, confidence: 0.95, u: 35, p: 2 * 0.1272, pTol: 1e-4, exact: true},
		{name: "endmemo, ties", x: emX, y: emY1, confidence: 0.95, u: 51.5, p: 0.5966, pTol: 1e-4},
		{name: "endmemo, ties, separated", x: emX, y: emY2, confidence: 0.95, u: 0, p: 0.001364, pTol: 1e-6},
		// Kayenta's MannWhitneySuite "Mann-Whitney Confidence Interval &
		// Estimate": CI [6, 39], estimate 22.5 (and R's exact test agrees).
		{name: "Kayenta 4×4", x: []float64{10, 20, 30, 40}, y: []float64{1, 2, 3, 4}, confidence: 0.95,
			u: 16, p: 2.0 / 70, pTol: 1e-12, exact: true, lower: 6, upper: 39, estimate: 22.5, checkCI: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := judge.MannWhitneyTest(tc.x, tc.y, tc.confidence)
			if err != nil {
				t.Fatal(err)
			}
			if got.U != tc.u || got.Exact != tc.exact {
				t.Errorf("U = %v exact = %v, want %v exact = %v", got.U, got.Exact, tc.u, tc.exact)
			}
			if math.Abs(got.P-tc.p) > tc.pTol {
				t.Errorf("p = %v, want %v ± %v", got.P, tc.p, tc.pTol)
			}
			if tc.checkCI && (got.Lower != tc.lower || got.Upper != tc.upper || got.Estimate != tc.estimate) {
				t.Errorf("estimate %v CI [%v, %v], want %v [%v, %v]", got.Estimate, got.Lower, got.Upper, tc.estimate, tc.lower, tc.upper)
			}
		})
	}
}

// The same statistic, swapped: U' = mn − U and the same two-sided p; the
// shift and its interval change sign.
func TestMannWhitneySymmetry(t *testing.T) {
	x := []float64{0.80, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46}
	y := []float64{1.15, 0.88, 0.90, 0.74, 1.21}
	a, _ := judge.MannWhitneyTest(x, y, 0.95)
	b, _ := judge.MannWhitneyTest(y, x, 0.95)
	if b.U != 50-a.U || b.P != a.P || b.Estimate != -a.Estimate || b.Lower != -a.Upper || b.Upper != -a.Lower {
		t.Errorf("swapped samples: %+v vs %+v", a, b)
	}
}

type kayentaCase struct {
	Experiment []float64 `json:"experiment"`
	Control    []float64 `json:"control"`
	Confidence float64   `json:"confidence"`
	RLower     float64   `json:"r_lower"`
	RUpper     float64   `json:"r_upper"`
	REstimate  float64   `json:"r_estimate"`
}

func loadKayenta(t *testing.T) map[string]kayentaCase {
	t.Helper()
	b, err := os.ReadFile("testdata/kayenta-mannwhitney.json")
	if err != nil {
		t.Fatal(err)
	}
	var d map[string]json.RawMessage
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	out := map[string]kayentaCase{}
	for _, name := range []string{"tieout", "tieout_large", "mostly_zero"} {
		var c kayentaCase
		if err := json.Unmarshal(d[name], &c); err != nil {
			t.Fatal(err)
		}
		out[name] = c
	}
	return out
}

// Kayenta's "Tie out with R Version" tests: heavily tied latency samples
// (multiples of 0.5) whose interval and estimate R's wilcox.test finds by
// root-finding with tolerance 1e-4. Here they are exact order statistics,
// so they must lie within that tolerance of R's.
func TestMannWhitneyTiesAgreeWithR(t *testing.T) {
	for name, c := range loadKayenta(t) {
		if c.Confidence == 0 {
			continue
		}
		t.Run(name, func(t *testing.T) {
			got, err := judge.MannWhitneyTest(c.Experiment, c.Control, c.Confidence)
			if err != nil {
				t.Fatal(err)
			}
			const tol = 1e-4
			if math.Abs(got.Lower-c.RLower) > tol || math.Abs(got.Upper-c.RUpper) > tol || math.Abs(got.Estimate-c.REstimate) > tol {
				t.Errorf("estimate %v CI [%v, %v]; R: %v [%v, %v]", got.Estimate, got.Lower, got.Upper, c.REstimate, c.RLower, c.RUpper)
			}
			if got.Exact {
				t.Error("tied samples used the exact distribution")
			}
			if got.Confidence < c.Confidence {
				t.Errorf("achieved confidence %v < %v", got.Confidence, c.Confidence)
			}
		})
	}
}

func TestMannWhitneyRejectsBadInput(t *testing.T) {
	tests := []struct {
		name string
		x, y []float64
		conf float64
	}{
		{"empty canary", nil, []float64{1}, 0.95},
		{"empty baseline", []float64{1}, nil, 0.95},
		{"NaN", []float64{1, math.NaN()}, []float64{1}, 0.95},
		{"Inf", []float64{1}, []float64{math.Inf(1)}, 0.95},
		{"confidence 1", []float64{1}, []float64{2}, 1},
		{"confidence 0", []float64{1}, []float64{2}, 0},
	}
	for _, tc := range tests {
		if _, err := judge.MannWhitneyTest(tc.x, tc.y, tc.conf); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// Samples too small for the level asked get the widest interval and say
// what it covers: 3 vs 3 points can only give 1 − 2/C(6,3) = 90%.
func TestMannWhitneyTooSmallForConfidence(t *testing.T) {
	got, err := judge.MannWhitneyTest([]float64{5, 6, 7}, []float64{1, 2, 3}, 0.98)
	if err != nil {
		t.Fatal(err)
	}
	if got.Lower != 2 || got.Upper != 6 || math.Abs(got.Confidence-0.9) > 1e-12 {
		t.Errorf("CI [%v, %v] at %v, want [2, 6] at 0.9", got.Lower, got.Upper, got.Confidence)
	}
}
