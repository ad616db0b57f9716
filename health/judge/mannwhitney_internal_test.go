package judge

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// enumerateU returns the null distribution of U for samples of m and n
// distinct values by brute force: every choice of the m ranks (out of m+n)
// that the first sample takes is equally likely. counts[u] is the number of
// choices giving U = u.
func enumerateU(m, n int) []float64 {
	counts := make([]float64, m*n+1)
	var rec func(next, left, rankSum int)
	rec = func(next, left, rankSum int) {
		if left == 0 {
			counts[rankSum-m*(m+1)/2]++
			return
		}
		for r := next; r <= m+n-left+1; r++ {
			rec(r+1, left-1, rankSum+r)
		}
	}
	rec(1, m, 0)
	return counts
}

func TestExactCDFMatchesEnumeration(t *testing.T) {
	for m := 1; m <= 8; m++ {
		for n := 1; n <= 8; n++ {
			counts := enumerateU(m, n)
			total := 0.0
			for _, c := range counts {
				total += c
			}
			if want := binomial(m+n, m); total != want {
				t.Fatalf("m=%d n=%d: enumerated %v orderings, want C(%d,%d) = %v", m, n, total, m+n, m, want)
			}
			cdf := exactCDF(m, n, m*n)
			sum := 0.0
			for u, c := range counts {
				sum += c
				if got, want := cdf[u], sum/total; math.Abs(got-want) > 1e-13 {
					t.Errorf("m=%d n=%d: P(U ≤ %d) = %v, enumeration gives %v", m, n, u, got, want)
				}
			}
		}
	}
}

// The recurrence stays a probability distribution at the largest exact
// size: P(U ≤ mn) = 1 and symmetric around mn/2.
func TestExactCDFLargestSize(t *testing.T) {
	m, n := ExactLimit-1, ExactLimit-1
	cdf := exactCDF(m, n, m*n)
	if got := cdf[m*n]; math.Abs(got-1) > 1e-12 {
		t.Errorf("P(U ≤ mn) = %v, want 1", got)
	}
	for _, u := range []int{800, 1000, 1100, 1200} {
		low := cdf[u]
		high := 1 - cdf[m*n-u-1] // P(U ≥ mn−u)
		if math.Abs(low-high) > 1e-12 {
			t.Errorf("P(U ≤ %d) = %v but P(U ≥ %d) = %v; the distribution is symmetric", u, low, m*n-u, high)
		}
	}
	if want := 1 / binomial(m+n, m); math.Abs(cdf[0]-want)/want > 1e-9 {
		t.Errorf("P(U = 0) = %v, want 1/C(98,49) = %v", cdf[0], want)
	}
}

// The selection of order statistics of x − y agrees with sorting all the
// differences, with ties, negatives and degenerate shapes.
func TestDiffMatrixKthMatchesSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	shapes := [][2]int{{1, 1}, {1, 7}, {7, 1}, {2, 3}, {13, 17}, {40, 40}, {120, 90}, {300, 300}}
	for _, sh := range shapes {
		for _, rounded := range []bool{false, true} {
			x, y := randSample(rng, sh[0], rounded), randSample(rng, sh[1], rounded)
			slices.Sort(x)
			slices.Sort(y)
			var all []float64
			for _, a := range x {
				for _, b := range y {
					all = append(all, a-b)
				}
			}
			slices.Sort(all)
			d := newDiffMatrix(x, y)
			step := max(1, len(all)/200)
			for k := 1; k <= len(all); k += step {
				if got := d.kth(k); got != all[k-1] {
					t.Fatalf("%dx%d rounded=%v: kth(%d) = %v, sorting gives %v", sh[0], sh[1], rounded, k, got, all[k-1])
				}
			}
			if got := d.kth(len(all)); got != all[len(all)-1] {
				t.Fatalf("%dx%d: kth(max) = %v, want %v", sh[0], sh[1], got, all[len(all)-1])
			}
			median := all[len(all)/2]
			if len(all)%2 == 0 {
				median = (all[len(all)/2-1] + all[len(all)/2]) / 2
			}
			if got := mannWhitneySorted(x, y, 0.95, nil).Estimate; got != median {
				t.Fatalf("%dx%d rounded=%v: estimate %v, median of the differences %v", sh[0], sh[1], rounded, got, median)
			}
		}
	}
}

func randSample(rng *rand.Rand, n int, rounded bool) []float64 {
	s := make([]float64, n)
	for i := range s {
		v := rng.NormFloat64()*10 - 3
		if rounded {
			v = math.Round(v / 2) // many ties
		}
		s[i] = v
	}
	return s
}

// bruteForce computes the test from its definitions: U by comparing every
// pair, the exact two-sided p-value and the interval's order k from the
// enumerated null distribution, the estimate and bounds by sorting all the
// differences. Samples must have no ties.
func bruteForce(x, y []float64, confidence float64) MannWhitney {
	m, n := len(x), len(y)
	var u float64
	var diffs []float64
	for _, a := range x {
		for _, b := range y {
			if a > b {
				u++
			}
			diffs = append(diffs, a-b)
		}
	}
	slices.Sort(diffs)
	counts := enumerateU(m, n)
	total := binomial(m+n, m)
	le := func(v int) float64 { // P(U ≤ v)
		s := 0.0
		for i := 0; i <= v && i < len(counts); i++ {
			s += counts[i]
		}
		return s / total
	}
	ge := func(v int) float64 { return 1 - le(v-1) } // P(U ≥ v)
	p := min(1, 2*min(le(int(u)), ge(int(u))))
	k := 0
	for le(k) < (1-confidence)/2 {
		k++
	}
	k = max(k, 1)
	mid := len(diffs) / 2
	est := diffs[mid]
	if len(diffs)%2 == 0 {
		est = (diffs[mid-1] + diffs[mid]) / 2
	}
	return MannWhitney{U: u, CanaryN: m, BaselineN: n, Exact: true, P: p, Estimate: est,
		Lower: diffs[k-1], Upper: diffs[len(diffs)-k], Confidence: 1 - 2*le(k-1)}
}

func TestMannWhitneyMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		m, n := 1+rng.IntN(9), 1+rng.IntN(9)
		x, y := randSample(rng, m, false), randSample(rng, n, false)
		if trial%3 == 0 {
			for i := range x {
				x[i] += 12 // a shifted canary: small p-values
			}
		}
		conf := []float64{0.8, 0.9, 0.95, 0.98}[trial%4]
		got, err := MannWhitneyTest(x, y, conf)
		if err != nil {
			t.Fatal(err)
		}
		want := bruteForce(x, y, conf)
		if got.U != want.U || got.Estimate != want.Estimate || got.Lower != want.Lower || got.Upper != want.Upper ||
			!got.Exact || math.Abs(got.P-want.P) > 1e-12 || math.Abs(got.Confidence-want.Confidence) > 1e-12 {
			t.Fatalf("trial %d (%d vs %d points at %v):\n got %+v\nwant %+v", trial, m, n, conf, got, want)
		}
	}
}

// Where both apply, the exact p-value and the normal approximation with
// continuity correction agree to within a few thousandths (40 vs 45
// points, no ties), over the whole range of U.
func TestExactAndNormalAgree(t *testing.T) {
	m, n := 40, 45
	mn := float64(m * n)
	cdf := exactCDF(m, n, m*n/2)
	sigma := math.Sqrt(mn * float64(m+n+1) / 12)
	for u := 0; u <= m*n; u += 25 {
		exact := exactTwoSidedP(cdf, float64(u), m*n)
		_, normal := normalTwoSided(float64(u), mn, sigma)
		if math.Abs(exact-normal) > 0.003 {
			t.Errorf("U = %d: exact p %v, normal p %v", u, exact, normal)
		}
	}
}
