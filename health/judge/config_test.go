package judge_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/shipprod/shipprod/health/judge"
	"github.com/shipprod/shipprod/internal/yamlstrict"
)

func TestDefaults(t *testing.T) {
	j := mustJudge(t, judge.Config{Metrics: names("p95")})
	got := j.Config()
	if got.Pass != 95 || got.Marginal != 75 || got.Confidence != 0.98 || got.Tolerance != 0.25 || got.MinPoints != 10 {
		t.Errorf("defaults: %+v", got)
	}
	m := got.Metrics[0]
	if m.Direction != judge.Either || m.AllowedIncrease != 1 || m.AllowedDecrease != 1 || m.MinEffect != 0 ||
		m.Outliers != "keep" || m.OutlierFactor != 3 || m.Group != "p95" {
		t.Errorf("metric defaults: %+v", m)
	}
}

// The judge section of shipprod.yaml decodes with the keys the docs show,
// and unknown keys are refused by the strict decoder.
func TestConfigFromYAML(t *testing.T) {
	doc := `
pass: 90
marginal: 70
confidence: 0.95
tolerance: 0.2
min_points: 20
metrics:
  - name: p95-latency
    unit: ms
    direction: increase
    allowed_increase: 1.10
    min_effect: 5
    group: latency
    weight: 60
    outliers: remove
    outlier_factor: 2.5
  - name: error-rate
    unit: ratio
    direction: increase
    allowed_decrease: 0.9
    critical: true
    must_have_data: true
`
	var cfg judge.Config
	if err := yamlstrict.Unmarshal("shipprod.yaml", []byte(doc), &cfg); err != nil {
		t.Fatal(err)
	}
	want := judge.Config{Pass: 90, Marginal: 70, Confidence: 0.95, Tolerance: 0.2, MinPoints: 20, Metrics: []judge.MetricConfig{
		{Name: "p95-latency", Unit: "ms", Direction: judge.Increase, AllowedIncrease: 1.10, MinEffect: 5, Group: "latency",
			Weight: 60, Outliers: "remove", OutlierFactor: 2.5},
		{Name: "error-rate", Unit: "ratio", Direction: judge.Increase, AllowedDecrease: 0.9, Critical: true, MustHaveData: true},
	}}
	if cfg.Pass != want.Pass || cfg.Marginal != want.Marginal || cfg.Confidence != want.Confidence ||
		cfg.Tolerance != want.Tolerance || cfg.MinPoints != want.MinPoints || len(cfg.Metrics) != 2 ||
		cfg.Metrics[0] != want.Metrics[0] || cfg.Metrics[1] != want.Metrics[1] {
		t.Errorf("decoded %+v\nwant    %+v", cfg, want)
	}
	if _, err := judge.New(cfg); err != nil {
		t.Errorf("New: %v", err)
	}
	err := yamlstrict.Unmarshal("shipprod.yaml", []byte("metrics:\n  - name: x\n    allowed_increse: 1.1\n"), &cfg)
	if err == nil || !strings.Contains(err.Error(), "allowed_increse") {
		t.Errorf("a misspelt key: %v", err)
	}
}

func TestValidate(t *testing.T) {
	ok := judge.MetricConfig{Name: "ok"}
	one := func(m judge.MetricConfig) []judge.MetricConfig { return []judge.MetricConfig{m} }
	tests := []struct {
		name    string
		cfg     judge.Config
		key     string
		problem string
	}{
		{"confidence above 1", judge.Config{Confidence: 1.5, Metrics: one(ok)}, "confidence", "1.5 is not between 0 and 1"},
		{"confidence 1", judge.Config{Confidence: 1, Metrics: one(ok)}, "confidence", "not between 0 and 1"},
		{"negative confidence", judge.Config{Confidence: -0.5, Metrics: one(ok)}, "confidence", "not between 0 and 1"},
		{"NaN confidence", judge.Config{Confidence: math.NaN(), Metrics: one(ok)}, "confidence", "not between 0 and 1"},
		{"pass above 100", judge.Config{Pass: 120, Metrics: one(ok)}, "pass", "120 is not a score in (0, 100]"},
		{"marginal above pass", judge.Config{Pass: 90, Marginal: 92, Metrics: one(ok)}, "marginal", "92 is not between 0 and pass (90)"},
		{"default marginal above pass", judge.Config{Pass: 70, Metrics: one(ok)}, "marginal", "75 is not between 0 and pass (70)"},
		{"tolerance 1", judge.Config{Tolerance: 1, Metrics: one(ok)}, "tolerance", "not between 0 and 1"},
		{"min_points too few for 98%", judge.Config{MinPoints: 4, Metrics: one(ok)}, "min_points",
			"two samples of 4 points cannot give a 98% interval (at best 97.14%); use at least 5"},
		{"min_points too few for 99.9%", judge.Config{MinPoints: 5, Confidence: 0.999, Metrics: one(ok)}, "min_points", "use at least 7"},
		{"negative min_points", judge.Config{MinPoints: -1, Metrics: one(ok)}, "min_points", "-1 is not a positive number"},
		{"no metrics", judge.Config{}, "metrics", "none configured"},
		{"no name", judge.Config{Metrics: one(judge.MetricConfig{Name: " "})}, "metrics[0].name", "is missing"},
		{"duplicate name", judge.Config{Metrics: []judge.MetricConfig{ok, {Name: "b"}, ok}}, "metrics[2].name", `"ok" is also the name of metrics[0]`},
		{"direction", judge.Config{Metrics: one(judge.MetricConfig{Name: "a", Direction: "up"})}, "metrics[0].direction", `"up" is not increase, decrease or either`},
		{"allowed_increase below 1", judge.Config{Metrics: one(judge.MetricConfig{Name: "a", AllowedIncrease: 0.9})}, "metrics[0].allowed_increase", "0.9 is not a ratio ≥ 1"},
		{"allowed_decrease above 1", judge.Config{Metrics: one(judge.MetricConfig{Name: "a", AllowedDecrease: 1.1})}, "metrics[0].allowed_decrease", "1.1 is not a ratio in (0, 1]"},
		{"negative min_effect", judge.Config{Metrics: one(judge.MetricConfig{Name: "a", MinEffect: -1})}, "metrics[0].min_effect", "-1 is not a difference ≥ 0"},
		{"weight above 100", judge.Config{Metrics: one(judge.MetricConfig{Name: "a", Weight: 120})}, "metrics[0].weight", "120 is not a percentage"},
		{"outliers", judge.Config{Metrics: one(judge.MetricConfig{Name: "a", Outliers: "drop"})}, "metrics[0].outliers", `"drop" is not keep or remove`},
		{"outlier_factor", judge.Config{Metrics: one(judge.MetricConfig{Name: "a", OutlierFactor: -3})}, "metrics[0].outlier_factor", "-3 is not a positive factor"},
		{"a group's weights disagree", judge.Config{Metrics: []judge.MetricConfig{
			{Name: "a", Group: "g", Weight: 30}, {Name: "b", Group: "g", Weight: 40}, {Name: "c"}}},
			"metrics[1].weight", `40 conflicts with 30 set by metrics[0] for group "g"`},
		{"weights above 100", judge.Config{Metrics: []judge.MetricConfig{{Name: "a", Weight: 60}, {Name: "b", Weight: 50}}},
			"metrics[].weight", "sum to 110, more than 100"},
		{"every group weighted below 100", judge.Config{Metrics: []judge.MetricConfig{{Name: "a", Weight: 30}, {Name: "b", Weight: 30}}},
			"metrics[].weight", "the score could never exceed 60"},
		{"nothing left for unweighted groups", judge.Config{Metrics: []judge.MetricConfig{{Name: "a", Weight: 100}, {Name: "b"}}},
			"metrics[].weight", `leaving nothing for "b"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if err == nil {
				t.Fatal("no error")
			}
			var ce *judge.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("%v is not a *ConfigError", err)
			}
			if ce.Key != tc.key || !strings.Contains(ce.Problem, tc.problem) {
				t.Errorf("key %q problem %q, want %q containing %q", ce.Key, ce.Problem, tc.key, tc.problem)
			}
			if !strings.HasPrefix(err.Error(), "judge: "+tc.key+": ") {
				t.Errorf("message %q does not start with the key", err)
			}
			if _, err := judge.New(tc.cfg); err == nil {
				t.Error("New accepted what Validate refused")
			}
		})
	}
}

// Every problem is reported at once.
func TestValidateReportsEveryProblem(t *testing.T) {
	err := judge.Config{Confidence: 2, Metrics: []judge.MetricConfig{{Name: "a", Direction: "up", AllowedIncrease: 0.5}}}.Validate()
	for _, key := range []string{"judge: confidence:", "judge: metrics[0].direction:", "judge: metrics[0].allowed_increase:"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%v does not report %s", err, key)
		}
	}
}

// Weights that add up are accepted: all set to 100, or some set and the
// rest shared.
func TestValidWeights(t *testing.T) {
	for _, ms := range [][]judge.MetricConfig{
		{{Name: "a", Weight: 70}, {Name: "b", Weight: 30}},
		{{Name: "a", Group: "g", Weight: 70}, {Name: "b", Group: "g", Weight: 70}, {Name: "c"}},
		{{Name: "a"}, {Name: "b"}, {Name: "c"}},
	} {
		if err := (judge.Config{Metrics: ms}).Validate(); err != nil {
			t.Errorf("%+v: %v", ms, err)
		}
	}
}
