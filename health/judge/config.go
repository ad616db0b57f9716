package judge

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Defaults for the zero values of Config and MetricConfig.
const (
	DefaultPass          = 95.0
	DefaultMarginal      = 75.0
	DefaultConfidence    = 0.98
	DefaultTolerance     = 0.25
	DefaultMinPoints     = 10
	DefaultOutlierFactor = 3.0
	// DefaultAllowedIncrease and DefaultAllowedDecrease are Kayenta's: any
	// significant change of the mean in a direction that can fail fails.
	DefaultAllowedIncrease = 1.0
	DefaultAllowedDecrease = 1.0
)

// Config is the judge section of shipprod.yaml: how sure the judge must be
// and how the score is read. Every zero value means its default.
//
//	judge:
//	  pass: 95          # score ≥ 95 passes
//	  marginal: 75      # 75 ≤ score < 95 is marginal (inconclusive)
//	  confidence: 0.98  # of the Hodges–Lehmann interval
//	  tolerance: 0.25   # the interval must clear 25% of the estimate
//	  min_points: 10    # fewer points in either sample: no data
//	  metrics: […]      # see MetricConfig
type Config struct {
	// Pass is the lowest score that passes (default 95), in (0, 100].
	Pass float64 `yaml:"pass" json:"pass"`
	// Marginal is the lowest score that is marginal rather than failed
	// (default 75), in [0, Pass]. Set it equal to Pass for no marginal
	// band.
	Marginal float64 `yaml:"marginal" json:"marginal"`
	// Confidence is the level of each metric's confidence interval
	// (default 0.98), in (0, 1). The chance that a metric whose canary
	// and baseline come from one distribution is classified high is at
	// most (1 − Confidence)/2, and as much again for low.
	Confidence float64 `yaml:"confidence" json:"confidence"`
	// Tolerance is the share of the estimated shift by which the interval
	// must clear zero (default 0.25), in (0, 1): high needs the lower
	// bound above Tolerance·|estimate|. It keeps a tight interval around
	// a shift of no practical size from failing.
	Tolerance float64 `yaml:"tolerance" json:"tolerance"`
	// MinPoints is the fewest values each sample must have, after NaNs
	// and outliers are removed, for the metric to be judged (default 10);
	// with fewer the metric has no data. It must be large enough for two
	// samples of that size to reach Confidence.
	MinPoints int `yaml:"min_points" json:"min_points"`
	// Metrics are the metrics judged, at least one.
	Metrics []MetricConfig `yaml:"metrics" json:"metrics"`
}

// Direction says which change of a metric can fail it.
type Direction string

// Directions. The zero value means Either, as in Kayenta.
const (
	Increase Direction = "increase" // higher is worse: latency, errors
	Decrease Direction = "decrease" // lower is worse: throughput, successes
	Either   Direction = "either"   // any significant change is suspect
)

// MetricConfig says how one metric is judged. Every zero value means its
// default.
//
//	metrics:
//	  - name: p95-latency
//	    unit: ms
//	    direction: increase
//	    allowed_increase: 1.10  # fail only at +10% of the mean or more
//	    min_effect: 5           # … and only at +5ms or more
//	    group: latency
//	    weight: 60              # the latency group's weight
//	    outliers: remove
//	  - name: error-rate
//	    unit: ratio
//	    direction: increase
//	    critical: true          # high fails the canary outright
//	    must_have_data: true
type MetricConfig struct {
	// Name identifies the metric in Judge's samples and in the result.
	Name string `yaml:"name" json:"name"`
	// Direction is increase, decrease or either (default).
	Direction Direction `yaml:"direction" json:"direction"`
	// AllowedIncrease is the ratio of the canary's mean to the baseline's
	// at or above which a significant increase is high (default 1.0):
	// 1.10 fails at +10% or more.
	AllowedIncrease float64 `yaml:"allowed_increase" json:"allowed_increase"`
	// AllowedDecrease is the ratio at or below which a significant
	// decrease is low (default 1.0): 0.90 fails at −10% or more.
	AllowedDecrease float64 `yaml:"allowed_decrease" json:"allowed_decrease"`
	// MinEffect is the smallest difference of the means, in the metric's
	// unit, that can fail it (default 0): with min_effect 0.001 an error
	// ratio going from 0.0001 to 0.0003 passes, however significant.
	MinEffect float64 `yaml:"min_effect" json:"min_effect,omitempty"`
	// Critical fails the whole canary (score 0) when the metric is high or
	// low, or has no data while MustHaveData is set. A critical metric
	// without data that need not have it makes the result inconclusive.
	Critical bool `yaml:"critical" json:"critical,omitempty"`
	// MustHaveData counts no data as a failure of the metric (NoDataFail)
	// rather than leaving it out of the score.
	MustHaveData bool `yaml:"must_have_data" json:"must_have_data,omitempty"`
	// Weight is the weight of the metric's group in the score, in percent.
	// Metrics of one group that set it must agree. Groups without a weight
	// share what the others leave of 100.
	Weight float64 `yaml:"weight" json:"weight,omitempty"`
	// Group names the metric's group (default: the metric's own name, a
	// group of one).
	Group string `yaml:"group" json:"group,omitempty"`
	// Outliers is keep (default) or remove: remove drops, from each sample
	// on its own, the values outside Q1 − f·IQR … Q3 + f·IQR (widened to
	// the 1st…99th percentile), f being OutlierFactor.
	Outliers string `yaml:"outliers" json:"outliers,omitempty"`
	// OutlierFactor is f above (default 3).
	OutlierFactor float64 `yaml:"outlier_factor" json:"outlier_factor,omitempty"`
	// Unit formats values in reasons: ratio (0–1, shown as %), percent,
	// seconds, ms, or any other text shown after the number.
	Unit string `yaml:"unit" json:"unit,omitempty"`
}

// ConfigError is one invalid setting. Key is the setting's path within the
// judge section, e.g. "confidence" or "metrics[2].allowed_increase".
type ConfigError struct {
	Key     string
	Problem string
}

func (e *ConfigError) Error() string { return "judge: " + e.Key + ": " + e.Problem }

// withDefaults returns c with every zero value replaced by its default.
func (c Config) withDefaults() Config {
	if c.Pass == 0 {
		c.Pass = DefaultPass
	}
	if c.Marginal == 0 {
		c.Marginal = DefaultMarginal
	}
	if c.Confidence == 0 {
		c.Confidence = DefaultConfidence
	}
	if c.Tolerance == 0 {
		c.Tolerance = DefaultTolerance
	}
	if c.MinPoints == 0 {
		c.MinPoints = DefaultMinPoints
	}
	metrics := make([]MetricConfig, len(c.Metrics))
	for i, m := range c.Metrics {
		metrics[i] = metricWithDefaults(m)
	}
	c.Metrics = metrics
	return c
}

// Validate reports every invalid setting of c (after defaults), each as a
// *ConfigError, joined.
func (c Config) Validate() error {
	c = c.withDefaults()
	errs := c.validateThresholds()
	if len(c.Metrics) == 0 {
		errs = append(errs, &ConfigError{Key: "metrics", Problem: "none configured; the judge needs at least one metric"})
	}
	seen := map[string]int{}
	for i, m := range c.Metrics {
		errs = append(errs, validateMetric(i, m)...)
		if prev, dup := seen[m.Name]; dup && m.Name != "" {
			errs = append(errs, &ConfigError{Key: fmt.Sprintf("metrics[%d].name", i), Problem: fmt.Sprintf("%q is also the name of metrics[%d]", m.Name, prev)})
		}
		seen[m.Name] = i
	}
	if _, err := buildGroups(c.Metrics); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// validateThresholds checks the settings other than the metrics.
func (c Config) validateThresholds() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &ConfigError{Key: key, Problem: fmt.Sprintf(format, args...)})
	}
	if !(c.Pass > 0 && c.Pass <= 100) {
		bad("pass", "%v is not a score in (0, 100]", c.Pass)
	}
	if !(c.Marginal >= 0 && c.Marginal <= c.Pass) {
		bad("marginal", "%v is not between 0 and pass (%v)", c.Marginal, c.Pass)
	}
	if !(c.Confidence > 0 && c.Confidence < 1) {
		bad("confidence", "%v is not between 0 and 1 (e.g. 0.98)", c.Confidence)
	}
	if !(c.Tolerance > 0 && c.Tolerance < 1) {
		bad("tolerance", "%v is not between 0 and 1 (e.g. 0.25)", c.Tolerance)
	}
	switch {
	case c.MinPoints < 1:
		bad("min_points", "%d is not a positive number of points", c.MinPoints)
	case c.Confidence > 0 && c.Confidence < 1:
		if best := bestCoverage(c.MinPoints); best < c.Confidence {
			bad("min_points", "two samples of %d points cannot give a %s interval (at best %s); use at least %d",
				c.MinPoints, percentText(c.Confidence), percentText(best), minPointsFor(c.Confidence))
		}
	}
	return errs
}

// bestCoverage is the highest coverage a rank interval of two samples of k
// points can have: all but the two most extreme of the C(2k, k)
// equally likely orderings.
func bestCoverage(k int) float64 {
	return 1 - 2/binomial(2*k, k)
}

// minPointsFor is the smallest k whose bestCoverage reaches confidence.
func minPointsFor(confidence float64) int {
	k := 1
	for bestCoverage(k) < confidence {
		k++
	}
	return k
}

func binomial(n, k int) float64 {
	lg := func(x int) float64 { v, _ := math.Lgamma(float64(x) + 1); return v }
	return math.Round(math.Exp(lg(n) - lg(k) - lg(n-k)))
}

// metricWithDefaults returns m with every zero value replaced by its
// default.
func metricWithDefaults(m MetricConfig) MetricConfig {
	m.Name = strings.TrimSpace(m.Name)
	m.Group = strings.TrimSpace(m.Group)
	if m.Direction == "" {
		m.Direction = Either
	}
	if m.AllowedIncrease == 0 {
		m.AllowedIncrease = DefaultAllowedIncrease
	}
	if m.AllowedDecrease == 0 {
		m.AllowedDecrease = DefaultAllowedDecrease
	}
	if m.Outliers == "" {
		m.Outliers = "keep"
	}
	if m.OutlierFactor == 0 {
		m.OutlierFactor = DefaultOutlierFactor
	}
	if m.Group == "" {
		m.Group = m.Name
	}
	return m
}

// validateMetric reports the invalid settings of the metric at index i
// (already with defaults).
func validateMetric(i int, m MetricConfig) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &ConfigError{Key: fmt.Sprintf("metrics[%d].%s", i, key), Problem: fmt.Sprintf(format, args...)})
	}
	if m.Name == "" {
		bad("name", "is missing; every metric needs a name for its samples and the report")
	}
	switch m.Direction {
	case Increase, Decrease, Either:
	default:
		bad("direction", "%q is not increase, decrease or either", m.Direction)
	}
	if !(m.AllowedIncrease >= 1) || math.IsInf(m.AllowedIncrease, 0) {
		bad("allowed_increase", "%v is not a ratio ≥ 1 (1.10 fails at +10%%)", m.AllowedIncrease)
	}
	if !(m.AllowedDecrease > 0 && m.AllowedDecrease <= 1) {
		bad("allowed_decrease", "%v is not a ratio in (0, 1] (0.90 fails at −10%%)", m.AllowedDecrease)
	}
	if !(m.MinEffect >= 0) || math.IsInf(m.MinEffect, 0) {
		bad("min_effect", "%v is not a difference ≥ 0", m.MinEffect)
	}
	if !(m.Weight >= 0 && m.Weight <= 100) {
		bad("weight", "%v is not a percentage in [0, 100]", m.Weight)
	}
	switch m.Outliers {
	case "keep", "remove":
	default:
		bad("outliers", "%q is not keep or remove", m.Outliers)
	}
	if !(m.OutlierFactor > 0) || math.IsInf(m.OutlierFactor, 0) {
		bad("outlier_factor", "%v is not a positive factor", m.OutlierFactor)
	}
	return errs
}
