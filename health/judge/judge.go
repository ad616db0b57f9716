package judge

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Samples are one metric's values over the same period: Canary from the new
// release, Baseline from the release it replaces. NaN and ±Inf values are
// removed before judging.
type Samples struct {
	Canary   []float64
	Baseline []float64
}

// Judge classifies each metric's canary sample against its baseline sample
// and scores the canary. It holds only its validated configuration, so one
// Judge may be used by many goroutines at once.
type Judge struct {
	cfg     Config
	metrics []MetricConfig
	groups  []groupSpec
	index   map[string]int
}

// groupSpec is a group of metrics and its effective weight.
type groupSpec struct {
	name   string
	weight float64 // effective, in percent
	set    bool    // the weight was configured, not shared out
}

// New validates cfg (after defaults) and returns a Judge. Every problem is
// reported, each as a *ConfigError naming its key.
func New(cfg Config) (*Judge, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	j := &Judge{cfg: cfg, metrics: cfg.Metrics, index: make(map[string]int, len(cfg.Metrics))}
	for i, m := range cfg.Metrics {
		j.index[m.Name] = i
	}
	j.groups, _ = buildGroups(cfg.Metrics) // validated above
	return j, nil
}

// Config returns the judge's configuration with defaults filled in.
func (j *Judge) Config() Config {
	c := j.cfg
	c.Metrics = slices.Clone(c.Metrics)
	return c
}

// buildGroups collects the metrics' groups in order of first appearance
// and gives each its weight: the one its metrics set, or an equal share of
// what the set weights leave of 100.
func buildGroups(metrics []MetricConfig) ([]groupSpec, error) {
	var groups []groupSpec
	at := map[string]int{}
	setBy := map[string]int{} // group → index of the metric that set its weight
	var errs []error
	for i, m := range metrics {
		g, ok := at[m.Group]
		if !ok {
			g = len(groups)
			at[m.Group] = g
			groups = append(groups, groupSpec{name: m.Group})
		}
		if m.Weight == 0 {
			continue
		}
		if groups[g].set && groups[g].weight != m.Weight {
			errs = append(errs, &ConfigError{Key: fmt.Sprintf("metrics[%d].weight", i), Problem: fmt.Sprintf(
				"%v conflicts with %v set by metrics[%d] for group %q; a group has one weight", m.Weight, groups[g].weight, setBy[m.Group], m.Group)})
			continue
		}
		groups[g].weight, groups[g].set = m.Weight, true
		setBy[m.Group] = i
	}
	sum, unset := 0.0, []string{}
	for _, g := range groups {
		if g.set {
			sum += g.weight
		} else {
			unset = append(unset, g.name)
		}
	}
	switch {
	case sum > 100+1e-9:
		errs = append(errs, &ConfigError{Key: "metrics[].weight", Problem: fmt.Sprintf("the groups' weights sum to %v, more than 100", sum)})
	case len(unset) == 0 && sum < 100-1e-9 && len(groups) > 0:
		errs = append(errs, &ConfigError{Key: "metrics[].weight", Problem: fmt.Sprintf(
			"every group has a weight and they sum to %v: the score could never exceed %v; make them sum to 100 or leave a group without weight", sum, sum)})
	case len(unset) > 0 && sum >= 100-1e-9:
		errs = append(errs, &ConfigError{Key: "metrics[].weight", Problem: fmt.Sprintf(
			"the set weights sum to 100, leaving nothing for %s; their metrics would not count", quoteList(unset))})
	}
	for i := range groups {
		if !groups[i].set {
			groups[i].weight = (100 - sum) / float64(len(unset))
		}
	}
	return groups, errors.Join(errs...)
}

// Judge classifies every configured metric and scores the canary. A metric
// missing from samples has no data. A sample under a name that no metric
// has is an error: it would otherwise be silently ignored.
func (j *Judge) Judge(samples map[string]Samples) (Result, error) {
	var unknown []string
	for name := range samples {
		if _, ok := j.index[name]; !ok {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return Result{}, fmt.Errorf("judge: samples for %s, which no metric is configured for", quoteList(unknown))
	}
	results := make([]MetricResult, len(j.metrics))
	cache := cdfCache{}
	for i, m := range j.metrics {
		results[i] = j.classify(m, samples[m.Name], cache)
	}
	return j.score(results), nil
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
