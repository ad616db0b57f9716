package judge_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/shipprod/shipprod/health/judge"
)

// Samples that classify as they say.
var (
	passing = judge.Samples{Canary: constant(20, 4), Baseline: constant(20, 4)} // identical
	high    = judge.Samples{Canary: constant(20, 5), Baseline: constant(20, 3)} // all 5 vs all 3
	noData  = judge.Samples{}
)

func names(ms ...string) []judge.MetricConfig {
	out := make([]judge.MetricConfig, len(ms))
	for i, m := range ms {
		out[i] = judge.MetricConfig{Name: m}
	}
	return out
}

func TestScore(t *testing.T) {
	abcd := names("a", "b", "c", "d")
	criticalD := names("a", "b", "c", "d")
	criticalD[3].Critical = true
	mustD := names("a", "b", "c", "d")
	mustD[3].MustHaveData = true
	criticalMustD := names("a", "b", "c", "d")
	criticalMustD[3].Critical, criticalMustD[3].MustHaveData = true, true
	grouped := []judge.MetricConfig{
		{Name: "p50", Group: "latency", Weight: 60}, {Name: "p95", Group: "latency"}, {Name: "errors", Weight: 40},
	}
	shared := []judge.MetricConfig{
		{Name: "p50", Group: "latency", Weight: 50}, {Name: "p95", Group: "latency", Weight: 50},
		{Name: "errors"}, {Name: "saturation"},
	}
	tests := []struct {
		name    string
		cfg     judge.Config
		samples map[string]judge.Samples
		verdict judge.Verdict
		class   judge.ScoreClass
		score   float64
		reason  string
	}{
		{"all pass", judge.Config{Metrics: abcd},
			map[string]judge.Samples{"a": passing, "b": passing, "c": passing, "d": passing},
			judge.VerdictPassed, judge.ScorePass, 100, "score 100 ≥ pass 95"},
		{"one of four high is marginal", judge.Config{Metrics: abcd},
			map[string]judge.Samples{"a": passing, "b": passing, "c": passing, "d": high},
			judge.VerdictInconclusive, judge.ScoreMarginal, 75, "score 75 is marginal (75 ≤ score < 95): d high"},
		{"two of four high fails", judge.Config{Metrics: abcd},
			map[string]judge.Samples{"a": passing, "b": passing, "c": high, "d": high},
			judge.VerdictFailed, judge.ScoreFail, 50, "score 50 < marginal 75: c high, d high"},
		{"one of three high rounds to two decimals", judge.Config{Metrics: names("a", "b", "c")},
			map[string]judge.Samples{"a": passing, "b": passing, "c": high},
			judge.VerdictFailed, judge.ScoreFail, 66.67, "score 66.67 < marginal 75"},
		{"weighted groups: latency 60 at half, errors 40 passing", judge.Config{Metrics: grouped},
			map[string]judge.Samples{"p50": passing, "p95": high, "errors": passing},
			judge.VerdictFailed, judge.ScoreFail, 70, "score 70 < marginal 75: p95 high"},
		// latency 50 (all pass) + errors 25 (high) + saturation 25 (pass)
		{"groups without weight share the rest", judge.Config{Metrics: shared},
			map[string]judge.Samples{"p50": passing, "p95": passing, "errors": high, "saturation": passing},
			judge.VerdictInconclusive, judge.ScoreMarginal, 75, "errors high"},
		{"a critical failure scores 0", judge.Config{Metrics: criticalD},
			map[string]judge.Samples{"a": passing, "b": passing, "c": passing, "d": high},
			judge.VerdictFailed, judge.ScoreFail, 0, "critical metric d failed: d: canary 5 vs baseline 3"},
		{"a critical failure beats missing data", judge.Config{Metrics: criticalD},
			map[string]judge.Samples{"a": noData, "b": noData, "c": passing, "d": high},
			judge.VerdictFailed, judge.ScoreFail, 0, "critical metric d failed"},
		{"half without data is inconclusive", judge.Config{Metrics: abcd},
			map[string]judge.Samples{"a": passing, "b": passing, "c": noData},
			judge.VerdictInconclusive, judge.ScoreFail, 0, "2 of 4 metrics have no data (50% or more): too little to judge"},
		{"a quarter without data does not count", judge.Config{Metrics: abcd},
			map[string]judge.Samples{"a": passing, "b": passing, "c": passing, "d": noData},
			judge.VerdictPassed, judge.ScorePass, 100, "score 100 ≥ pass 95: d has no data"},
		{"a critical metric without data holds a passing score", judge.Config{Metrics: criticalD},
			map[string]judge.Samples{"a": passing, "b": passing, "c": passing, "d": noData},
			judge.VerdictInconclusive, judge.ScorePass, 100, "but critical metric d has no data, so the canary cannot pass"},
		{"a critical metric that must have data fails without it", judge.Config{Metrics: criticalMustD},
			map[string]judge.Samples{"a": passing, "b": passing, "c": passing, "d": noData},
			judge.VerdictFailed, judge.ScoreFail, 0, "critical metric d failed"},
		{"no data that must be there counts as a failed metric", judge.Config{Metrics: mustD},
			map[string]judge.Samples{"a": passing, "b": passing, "c": passing, "d": noData},
			judge.VerdictInconclusive, judge.ScoreMarginal, 75, "d has no data, which it must have"},
		{"pass 80, marginal 60: 75 is marginal", judge.Config{Pass: 80, Marginal: 60, Metrics: abcd},
			map[string]judge.Samples{"a": passing, "b": passing, "c": passing, "d": high},
			judge.VerdictInconclusive, judge.ScoreMarginal, 75, "(60 ≤ score < 80)"},
		{"pass 75: 75 passes", judge.Config{Pass: 75, Marginal: 50, Metrics: abcd},
			map[string]judge.Samples{"a": passing, "b": passing, "c": passing, "d": high},
			judge.VerdictPassed, judge.ScorePass, 75, "score 75 ≥ pass 75: d high"},
		{"marginal = pass leaves no marginal band", judge.Config{Marginal: 95, Metrics: abcd},
			map[string]judge.Samples{"a": passing, "b": passing, "c": passing, "d": high},
			judge.VerdictFailed, judge.ScoreFail, 75, "score 75 < marginal 95"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := mustJudge(t, tc.cfg).Judge(tc.samples)
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != tc.verdict || res.Class != tc.class || res.Score != tc.score {
				t.Errorf("verdict %s class %s score %v, want %s %s %v; reason: %s",
					res.Verdict, res.Class, res.Score, tc.verdict, tc.class, tc.score, res.Reason)
			}
			if !strings.Contains(res.Reason, tc.reason) {
				t.Errorf("reason %q does not say %q", res.Reason, tc.reason)
			}
			if len(res.Metrics) != len(tc.cfg.Metrics) {
				t.Errorf("%d metric results for %d metrics", len(res.Metrics), len(tc.cfg.Metrics))
			}
		})
	}
}

func TestGroupScores(t *testing.T) {
	cfg := judge.Config{Metrics: []judge.MetricConfig{
		{Name: "p50", Group: "latency", Weight: 60}, {Name: "p95", Group: "latency"}, {Name: "p99", Group: "latency"},
		{Name: "errors"}, {Name: "cpu"},
	}}
	res, err := mustJudge(t, cfg).Judge(map[string]judge.Samples{"p50": passing, "p95": high, "p99": passing, "errors": passing})
	if err != nil {
		t.Fatal(err)
	}
	want := []judge.GroupScore{
		{Name: "latency", Weight: 60, Score: 100 * 2.0 / 3, Pass: 2, High: 1},
		{Name: "errors", Weight: 20, Score: 100, Pass: 1},
		{Name: "cpu", Weight: 20, Score: 100, Unscored: true, NoData: 1},
	}
	if len(res.Groups) != len(want) {
		t.Fatalf("groups %+v", res.Groups)
	}
	for i, g := range res.Groups {
		if g != want[i] {
			t.Errorf("group %d: %+v, want %+v", i, g, want[i])
		}
	}
	if res.Score != 80 { // 40 + 20 + 20
		t.Errorf("score %v, want 80", res.Score)
	}
}

func TestJudgeRefusesUnknownSamples(t *testing.T) {
	j := mustJudge(t, judge.Config{Metrics: names("a")})
	_, err := j.Judge(map[string]judge.Samples{"a": passing, "latnecy": passing})
	if err == nil || !strings.Contains(err.Error(), `"latnecy"`) {
		t.Errorf("err = %v, want one naming latnecy", err)
	}
}

// A result goes into JSON reports: no NaN or Inf anywhere, whatever the
// samples.
func TestResultMarshalsToJSON(t *testing.T) {
	j := mustJudge(t, judge.Config{Metrics: names("zero-baseline", "empty", "high", "same")})
	res, err := j.Judge(map[string]judge.Samples{
		"zero-baseline": {Canary: constant(20, 1), Baseline: constant(20, 0)},
		"high":          high, "same": passing,
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"verdict":"failed"`, `"class":"nodata"`, `"estimate":2`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON does not hold %s: %s", want, b)
		}
	}
}

// One Judge serves many goroutines, and judging leaves the samples as
// they were (run with -race).
func TestJudgeConcurrently(t *testing.T) {
	cfg := judge.Config{Metrics: names("a", "b")}
	j := mustJudge(t, cfg)
	a := judge.Samples{Canary: lognormal(rng(1), 40, 300, 0.2), Baseline: lognormal(rng(2), 40, 250, 0.2)}
	b := judge.Samples{Canary: lognormal(rng(3), 200, 250, 0.2), Baseline: lognormal(rng(4), 200, 250, 0.2)}
	before := slices.Clone(a.Canary)
	samples := map[string]judge.Samples{"a": a, "b": b}
	want, err := j.Judge(samples)
	if err != nil {
		t.Fatal(err)
	}
	results := make(chan judge.Result, 8)
	for range 8 {
		go func() {
			res, _ := j.Judge(samples)
			results <- res
		}()
	}
	for range 8 {
		if got := <-results; got.Score != want.Score || got.Metrics[0].Reason != want.Metrics[0].Reason || got.Metrics[1].Reason != want.Metrics[1].Reason {
			t.Errorf("concurrent judgement differs: %s vs %s", got.Reason, want.Reason)
		}
	}
	if !slices.Equal(a.Canary, before) {
		t.Error("judging changed the caller's samples")
	}
}
