package judge

import (
	"math"
	"slices"
)

// SampleSummary describes one sample as the judge used it.
type SampleSummary struct {
	// Count is the number of values judged, after removals.
	Count int `json:"count"`
	// NonFinite is the number of NaN and ±Inf values removed (a scrape
	// that returned nothing, a division by zero).
	NonFinite int `json:"non_finite,omitempty"`
	// Outliers is the number of values removed as outliers.
	Outliers int `json:"outliers,omitempty"`
	// Mean and Median of the judged values (0 when Count is 0).
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
}

// cleanSample returns the finite values of raw, sorted, with outliers
// removed when removeOutliers is set, and their summary.
func cleanSample(raw []float64, removeOutliers bool, factor float64) ([]float64, SampleSummary) {
	var s SampleSummary
	vals := make([]float64, 0, len(raw))
	for _, v := range raw {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			s.NonFinite++
			continue
		}
		vals = append(vals, v)
	}
	slices.Sort(vals)
	if removeOutliers && len(vals) > 0 {
		lowFence, highFence := outlierFences(vals, factor)
		kept := vals[:0]
		for _, v := range vals {
			if v < lowFence || v > highFence {
				s.Outliers++
				continue
			}
			kept = append(kept, v)
		}
		vals = kept
	}
	s.Count = len(vals)
	if s.Count > 0 {
		s.Mean = mean(vals)
		s.Median = percentile(vals, 0.5)
	}
	return vals, s
}

// outlierFences returns the bounds outside which a value of the sorted
// sample is an outlier: Tukey's fences Q1 − factor·IQR and Q3 + factor·IQR,
// widened to the 1st and 99th percentiles when those lie further out — the
// "reduced sensitivity" of Kayenta's IQRDetector, which keeps the top and
// bottom percent of a large sample from being cut for being merely
// unusual.
func outlierFences(sorted []float64, factor float64) (low, high float64) {
	q1, q3 := percentile(sorted, 0.25), percentile(sorted, 0.75)
	iqr := q3 - q1
	low = min(q1-factor*iqr, percentile(sorted, 0.01))
	high = max(q3+factor*iqr, percentile(sorted, 0.99))
	return low, high
}

// percentile returns the p-quantile (0 ≤ p ≤ 1) of a sorted non-empty
// sample by linear interpolation between order statistics (R's type 7, as
// Kayenta uses).
func percentile(sorted []float64, p float64) float64 {
	h := float64(len(sorted)-1) * p
	lo := int(math.Floor(h))
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

func mean(vals []float64) float64 {
	sum := 0.0
	for _, v := range vals {
		sum += v
	}
	return sum / float64(len(vals))
}
