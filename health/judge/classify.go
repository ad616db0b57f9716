package judge

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Class is a metric's classification.
type Class string

// Metric classes, as in Kayenta.
const (
	ClassPass Class = "pass" // no significant change in a direction that fails
	ClassHigh Class = "high" // the canary is significantly and materially higher
	ClassLow  Class = "low"  // the canary is significantly and materially lower
	// ClassNoData: a sample has fewer than min_points values; the metric
	// is left out of the score.
	ClassNoData Class = "nodata"
	// ClassNoDataFail: no data for a metric that must have data; it
	// counts as a failed metric.
	ClassNoDataFail Class = "nodata_fail"
)

// MetricResult is one metric's classification and the numbers behind it.
type MetricResult struct {
	Name  string `json:"name"`
	Group string `json:"group"`
	Class Class  `json:"class"`
	// Critical echoes the metric's configuration; see CriticalFailure.
	Critical bool `json:"critical,omitempty"`
	// Reason says what was found, with the numbers, e.g. "p95-latency:
	// canary 310ms vs baseline 250ms (×1.24, HL shift +58ms, 98% CI
	// [+41ms, +77ms]) — high".
	Reason   string        `json:"reason"`
	Canary   SampleSummary `json:"canary"`
	Baseline SampleSummary `json:"baseline"`
	// Ratio is the canary's mean over the baseline's; 0 when it is not
	// defined (a mean that is zero or negative).
	Ratio float64 `json:"ratio,omitempty"`
	// Test is the Mann–Whitney test; nil when none ran (no data, or
	// nothing to compare: identical samples, a single value).
	Test *MannWhitney `json:"test,omitempty"`
}

// CriticalFailure reports whether this metric alone fails the canary: it
// is critical and high, low, or without data it must have.
func (r MetricResult) CriticalFailure() bool {
	return r.Critical && (r.Class == ClassHigh || r.Class == ClassLow || r.Class == ClassNoDataFail)
}

// classify judges one metric.
func (j *Judge) classify(m MetricConfig, s Samples, cache cdfCache) MetricResult {
	remove := m.Outliers == "remove"
	x, cs := cleanSample(s.Canary, remove, m.OutlierFactor)
	y, bs := cleanSample(s.Baseline, remove, m.OutlierFactor)
	r := MetricResult{Name: m.Name, Group: m.Group, Critical: m.Critical, Canary: cs, Baseline: bs}
	f := formatter{unit: m.Unit}
	removed := removedText(cs, bs)
	if cs.Count < j.cfg.MinPoints || bs.Count < j.cfg.MinPoints {
		r.Class = ClassNoData
		if m.MustHaveData {
			r.Class = ClassNoDataFail
		}
		r.Reason = fmt.Sprintf("%s: canary has %d points, baseline %d; at least %d needed in each%s — %s",
			m.Name, cs.Count, bs.Count, j.cfg.MinPoints, removed, classText(r))
		return r
	}
	r.Ratio = meanRatio(cs.Mean, bs.Mean)
	switch {
	case slices.Equal(x, y):
		r.Class = ClassPass
		r.Reason = fmt.Sprintf("%s: canary and baseline data are identical (%d points)%s — pass", m.Name, cs.Count, removed)
		return r
	case x[0] == x[len(x)-1] && y[0] == y[len(y)-1] && x[0] == y[0]:
		r.Class = ClassPass
		r.Reason = fmt.Sprintf("%s: every value is %s%s — pass", m.Name, f.value(x[0]), removed)
		return r
	}
	mw := mannWhitneySorted(x, y, j.cfg.Confidence, cache)
	r.Test = &mw.MannWhitney
	var why string
	r.Class, why = j.decide(m, mw, cs.Mean-bs.Mean, r.Ratio, f)
	// The interval covers at least the confidence asked; say more only
	// when samples too small could not reach it.
	level := percentText(min(j.cfg.Confidence, mw.Confidence))
	ratio := "ratio n/a"
	if r.Ratio != 0 {
		ratio = "×" + num(r.Ratio)
	}
	r.Reason = fmt.Sprintf("%s: canary %s vs baseline %s (%s, HL shift %s, %s CI [%s, %s])%s — %s%s",
		m.Name, f.value(cs.Mean), f.value(bs.Mean), ratio, f.delta(mw.Estimate),
		level, f.delta(mw.Lower), f.delta(mw.Upper), removed, classText(r), why)
	return r
}

// decide applies Kayenta's rule to a test: high when the interval's lower
// bound clears tolerance·|estimate| and the effect is large enough in a
// direction that can fail; low symmetrically. why explains the class.
func (j *Judge) decide(m MetricConfig, t *mwTest, meanDiff, ratio float64, f formatter) (Class, string) {
	bound := j.cfg.Tolerance * math.Abs(t.Estimate)
	up, above, equal := t.shiftTest(bound)
	down, belowAbove, belowEqual := t.shiftTest(-bound)
	switch {
	case up > 0:
		switch {
		case m.Direction == Decrease:
			return ClassPass, ": higher, but only a decrease fails this metric"
		case ratio != 0 && ratio < m.AllowedIncrease:
			return ClassPass, fmt.Sprintf(": higher, but ×%s is under allowed_increase ×%s", num(ratio), num(m.AllowedIncrease))
		case meanDiff <= 0:
			return ClassPass, fmt.Sprintf(": higher in rank, but the canary's mean is not (%s)", f.delta(meanDiff))
		case meanDiff < m.MinEffect:
			return ClassPass, fmt.Sprintf(": higher, but the means differ by %s, under min_effect %s", f.delta(meanDiff), f.value(m.MinEffect))
		case !(t.Lower > bound):
			return ClassHigh, tieText(t, bound, above, equal)
		}
		return ClassHigh, ""
	case down < 0:
		switch {
		case m.Direction == Increase:
			return ClassPass, ": lower, but only an increase fails this metric"
		case ratio != 0 && ratio > m.AllowedDecrease:
			return ClassPass, fmt.Sprintf(": lower, but ×%s is above allowed_decrease ×%s", num(ratio), num(m.AllowedDecrease))
		case meanDiff >= 0:
			return ClassPass, fmt.Sprintf(": lower in rank, but the canary's mean is not (%s)", f.delta(meanDiff))
		case -meanDiff < m.MinEffect:
			return ClassPass, fmt.Sprintf(": lower, but the means differ by %s, under min_effect %s", f.delta(meanDiff), f.value(m.MinEffect))
		case !(t.Upper < -bound):
			return ClassLow, tieText(t, -bound, belowAbove, belowEqual)
		}
		return ClassLow, ""
	case t.Lower > 0 || t.Upper < 0:
		return ClassPass, fmt.Sprintf(": the interval does not clear %s of the shift (tolerance)", percentText(j.cfg.Tolerance))
	}
	return ClassPass, ": no significant difference"
}

// tieText explains a decision the interval alone does not show, made on
// differences equal to the shift tested (mu): typically counts that are
// mostly zero, most pairs equal and the rest leaning one way.
func tieText(t *mwTest, mu float64, above, equal int) string {
	total := t.CanaryN * t.BaselineN
	s := fmt.Sprintf(": of %d canary–baseline pairs the canary is higher in %d and lower in %d, the rest equal",
		total, above, total-above-equal)
	if mu == 0 {
		s += fmt.Sprintf(" (p = %s)", num(t.P))
	} else {
		s += " after a shift of " + num(mu)
	}
	return s
}

// meanRatio is canary/baseline, or 0 when either mean is not positive (a
// ratio of means of opposite signs, or over zero, says nothing).
func meanRatio(canary, baseline float64) float64 {
	if canary <= 0 || baseline <= 0 {
		return 0
	}
	return canary / baseline
}

func classText(r MetricResult) string {
	s := string(r.Class)
	switch r.Class {
	case ClassNoData:
		s = "no data"
	case ClassNoDataFail:
		s = "no data, which this metric must have"
	}
	if r.CriticalFailure() {
		s += " (critical)"
	}
	return s
}

// removedText says what was removed from the samples, if anything.
func removedText(cs, bs SampleSummary) string {
	var parts []string
	for _, s := range []struct {
		name string
		sum  SampleSummary
	}{{"canary", cs}, {"baseline", bs}} {
		var what []string
		if s.sum.NonFinite > 0 {
			what = append(what, fmt.Sprintf("%d NaN/Inf", s.sum.NonFinite))
		}
		if s.sum.Outliers > 0 {
			what = append(what, plural(s.sum.Outliers, "outlier"))
		}
		if len(what) > 0 {
			parts = append(parts, strings.Join(what, " and ")+" removed from the "+s.name)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "; " + strings.Join(parts, ", ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
