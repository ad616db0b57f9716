package judge

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// ExactLimit is the sample size below which MannWhitneyTest uses the exact
// null distribution of U: when both samples have fewer than ExactLimit
// points and no value occurs twice in the two samples together. Otherwise
// it uses the normal approximation with tie and continuity corrections.
// R's wilcox.test draws the same line.
const ExactLimit = 50

// MannWhitney is the outcome of a two-sided Mann–Whitney U test (Wilcoxon
// rank-sum test) of a canary sample x against a baseline sample y, with the
// Hodges–Lehmann estimate of the shift x − y and its confidence interval.
type MannWhitney struct {
	// U counts the pairs (canary, baseline) in which the canary value is
	// larger, a tie counting one half. It ranges from 0 to
	// CanaryN·BaselineN, with CanaryN·BaselineN/2 expected when both
	// samples come from one distribution.
	U         float64 `json:"u"`
	CanaryN   int     `json:"canary_n"`
	BaselineN int     `json:"baseline_n"`
	// Exact says the p-value and the interval come from the exact
	// distribution of U rather than from the normal approximation.
	Exact bool `json:"exact"`
	// Z is the continuity-corrected normal score of U (0 when Exact).
	Z float64 `json:"z,omitempty"`
	// P is the two-sided p-value of "both samples come from one
	// distribution".
	P float64 `json:"p"`
	// Estimate is the Hodges–Lehmann shift: the median of the
	// CanaryN·BaselineN differences canary − baseline.
	Estimate float64 `json:"estimate"`
	// Lower and Upper bound the shift; the interval is a pair of order
	// statistics of those differences and covers the true shift with
	// probability Confidence.
	Lower float64 `json:"lower"`
	Upper float64 `json:"upper"`
	// Confidence is the coverage the interval really has. It is at least
	// the level asked for, except when the samples are too small to reach
	// it (then the interval is the whole range of the differences).
	Confidence float64 `json:"confidence"`
}

// MannWhitneyTest compares x (canary) with y (baseline) at the given
// confidence level (e.g. 0.98), like R's wilcox.test(x, y, conf.int = TRUE,
// conf.level = confidence) with its default exact rule and continuity
// correction. Both samples must be non-empty and hold only finite values.
func MannWhitneyTest(x, y []float64, confidence float64) (MannWhitney, error) {
	if len(x) == 0 || len(y) == 0 {
		return MannWhitney{}, errors.New("judge: Mann–Whitney test needs at least one value in each sample")
	}
	if !(confidence > 0 && confidence < 1) {
		return MannWhitney{}, fmt.Errorf("judge: confidence %v is not between 0 and 1", confidence)
	}
	xs, ys := slices.Clone(x), slices.Clone(y)
	for _, s := range [][]float64{xs, ys} {
		for _, v := range s {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return MannWhitney{}, fmt.Errorf("judge: Mann–Whitney test of a sample holding %v; remove non-finite values first", v)
			}
		}
	}
	slices.Sort(xs)
	slices.Sort(ys)
	return mannWhitneySorted(xs, ys, confidence, nil).MannWhitney, nil
}

// mwTest is a MannWhitney with what it takes to test other shifts.
type mwTest struct {
	MannWhitney
	k int         // the interval is [D(k), D(mn+1−k)] of the sorted differences D
	d *diffMatrix // the differences D
}

// cdfCache keeps exact null distributions by sample sizes for one
// judgement: metrics sampled over the same period mostly have the same
// sizes, and the distribution is the costly part of a small-sample test.
type cdfCache map[[2]int][]float64

// get returns P(U ≤ u) for u = 0…mn/2.
func (c cdfCache) get(m, n int) []float64 {
	if cdf, ok := c[[2]int{m, n}]; ok {
		return cdf
	}
	cdf := exactCDF(m, n, m*n/2)
	if c != nil {
		c[[2]int{m, n}] = cdf
	}
	return cdf
}

// mannWhitneySorted is MannWhitneyTest on sorted, finite, non-empty
// samples. cache may be nil.
func mannWhitneySorted(xs, ys []float64, confidence float64, cache cdfCache) *mwTest {
	m, n := len(xs), len(ys)
	r := rankSum(xs, ys)
	mn := float64(m) * float64(n)
	res := MannWhitney{U: r.sumX - float64(m)*float64(m+1)/2, CanaryN: m, BaselineN: n}
	alpha := 1 - confidence
	var k int // the interval is [D(k), D(mn+1-k)] of the sorted differences D
	if !r.ties && m < ExactLimit && n < ExactLimit {
		res.Exact = true
		cdf := cache.get(m, n)
		res.P = exactTwoSidedP(cdf, res.U, m*n)
		k = exactCIIndex(cdf, alpha)
		res.Confidence = 1 - 2*cdfAt(cdf, k-1)
	} else {
		sigma := math.Sqrt(mn / 12 * (float64(m+n+1) - r.tieTerm/(float64(m+n)*float64(m+n-1))))
		res.Z, res.P = normalTwoSided(res.U, mn, sigma)
		k, res.Confidence = normalCIIndex(mn, sigma, alpha)
	}
	d := newDiffMatrix(xs, ys)
	total := m * n
	res.Lower, res.Upper = d.kth(k), d.kth(total+1-k)
	if total%2 == 1 {
		res.Estimate = d.kth(total/2 + 1)
	} else {
		mid := d.kth(total / 2)
		next := mid // D(total/2+1): mid itself if it repeats, else the next larger
		if _, lessEq := d.count(mid); lessEq <= total/2 {
			next = d.next(mid)
		}
		res.Estimate = (mid + next) / 2
	}
	return &mwTest{MannWhitney: res, k: k, d: d}
}

// shiftTest tests "the shift is mu" at the test's confidence: +1 when the
// canary is significantly above baseline+mu, −1 when significantly below,
// 0 otherwise. It counts the differences above mu, a difference equal to
// mu as one half (mid-ranks), and rejects when that count reaches the
// order statistic that bounds the interval:
//
//	above + equal/2 ≥ mn+1−k   ⇔   D(k) > mu when no difference equals mu
//	above + equal/2 ≤ k−1      ⇔   D(mn+1−k) < mu when none equals mu
//
// With ties at mu the closed interval [D(k), D(mn+1−k)] may hold mu even
// though the rank test rejects it: for counts that are mostly zero in both
// samples most differences are exactly 0, so the estimate and both bounds
// are 0, while the canary is higher in far more pairs than it is lower.
// Counting ties as halves keeps the decision that of the rank test, as
// with R's and Kayenta's test inversion.
func (t *mwTest) shiftTest(mu float64) (verdict int, above, equal int) {
	less, lessEq := t.d.count(mu)
	total := t.CanaryN * t.BaselineN
	above, equal = total-lessEq, lessEq-less
	w := float64(above) + float64(equal)/2
	switch {
	case w >= float64(total+1-t.k):
		return 1, above, equal
	case w <= float64(t.k-1):
		return -1, above, equal
	}
	return 0, above, equal
}

// rankSums holds what the ranks of the pooled samples say.
type rankSums struct {
	sumX    float64 // sum of the (mid-)ranks of the x values
	ties    bool    // some value occurs more than once in x and y together
	tieTerm float64 // Σ (t³ − t) over groups of t equal values
}

// rankSum ranks the pooled sorted samples, giving tied values the mean of
// their ranks, by merging them.
func rankSum(xs, ys []float64) rankSums {
	var r rankSums
	i, j, rank := 0, 0, 0
	for i < len(xs) || j < len(ys) {
		v := math.Inf(1)
		if i < len(xs) {
			v = xs[i]
		}
		if j < len(ys) && ys[j] < v {
			v = ys[j]
		}
		cx, cy := 0, 0
		for i < len(xs) && xs[i] == v {
			i, cx = i+1, cx+1
		}
		for j < len(ys) && ys[j] == v {
			j, cy = j+1, cy+1
		}
		t := float64(cx + cy)
		r.sumX += float64(cx) * (float64(rank) + (t+1)/2)
		rank += cx + cy
		if cx+cy > 1 {
			r.ties = true
			r.tieTerm += t*t*t - t
		}
	}
	return r
}

// normalTwoSided returns the continuity-corrected z score of u and its
// two-sided p-value. sigma is the tie-corrected standard deviation of U.
func normalTwoSided(u, mn, sigma float64) (z, p float64) {
	if sigma == 0 {
		return 0, 1 // every value is the same: nothing to tell apart
	}
	d := u - mn/2
	switch {
	case d > 0:
		d -= 0.5
	case d < 0:
		d += 0.5
	}
	z = d / sigma
	return z, min(1, math.Erfc(math.Abs(z)/math.Sqrt2))
}

// normalCIIndex returns the order k of the lower interval bound D(k) under
// the normal approximation — the largest k with P(U ≤ k−1) < alpha/2 — and
// the coverage the interval has.
func normalCIIndex(mn, sigma, alpha float64) (int, float64) {
	if sigma == 0 {
		return 1, 1
	}
	zq := normalQuantile(alpha / 2) // negative
	k := int(math.Ceil(mn/2+0.5+zq*sigma)) - 1
	k = max(k, 1)
	k = min(k, int((mn+1)/2)) // the interval never inverts
	// P(U ≤ k−1) with the continuity correction.
	tail := normalCDF((float64(k) - 0.5 - mn/2) / sigma)
	return k, max(0, 1-2*tail)
}

// exactTwoSidedP is R's exact two-sided p-value: twice the smaller tail
// probability of the observed U, capped at 1.
func exactTwoSidedP(cdf []float64, u float64, mn int) float64 {
	low := min(u, float64(mn)-u) // the distribution is symmetric
	return min(1, 2*cdfAt(cdf, int(math.Floor(low))))
}

// exactCIIndex returns the smallest u with P(U ≤ u) ≥ alpha/2, or 1 if that
// is 0 (as R's wilcox.test does: the interval is then the widest one).
func exactCIIndex(cdf []float64, alpha float64) int {
	for u, c := range cdf {
		if c >= alpha/2 {
			return max(u, 1)
		}
	}
	return len(cdf) // alpha/2 beyond the half of the distribution computed
}

// cdfAt returns P(U ≤ u) from a CDF computed up to len(cdf)-1.
func cdfAt(cdf []float64, u int) float64 {
	switch {
	case u < 0:
		return 0
	case u < len(cdf):
		return cdf[u]
	default:
		return cdf[len(cdf)-1]
	}
}

// exactCDF returns P(U ≤ u) for u = 0…uMax under the null hypothesis, for
// samples of m and n distinct values. It uses the recurrence on the largest
// of the m+n values — an x with probability m/(m+n), beating all n y's, or
// a y — which only adds positive terms, so float64 keeps ~1e-13 relative
// accuracy where the counts themselves (up to C(98, 49) ≈ 2.5e28) would
// not fit an integer:
//
//	p(m,n; u) = m/(m+n)·p(m−1,n; u−n) + n/(m+n)·p(m,n−1; u)
func exactCDF(m, n, uMax int) []float64 {
	// prev[j] holds p(i−1, j; ·) and cur[j] p(i, j; ·), each up to uMax.
	prev := make([][]float64, n+1)
	cur := make([][]float64, n+1)
	for j := range prev {
		prev[j] = make([]float64, uMax+1)
		cur[j] = make([]float64, uMax+1)
		prev[j][0] = 1 // i = 0: U is 0
	}
	for i := 1; i <= m; i++ {
		clear(cur[0])
		cur[0][0] = 1 // j = 0: U is 0
		for j := 1; j <= n; j++ {
			a := float64(i) / float64(i+j)
			b := float64(j) / float64(i+j)
			top := min(i*j, uMax)
			c, left, up := cur[j], cur[j-1], prev[j]
			for u := 0; u <= top; u++ {
				v := b * left[u]
				if u >= j {
					v += a * up[u-j]
				}
				c[u] = v
			}
			clear(c[top+1:])
		}
		prev, cur = cur, prev
	}
	pmf := prev[n]
	cdf := make([]float64, uMax+1)
	sum := 0.0
	for u, p := range pmf {
		sum += p
		cdf[u] = sum
	}
	return cdf
}

// normalCDF is Φ, the standard normal distribution function.
func normalCDF(z float64) float64 { return 0.5 * math.Erfc(-z/math.Sqrt2) }

// normalQuantile is Φ⁻¹.
func normalQuantile(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }
