package judge

import (
	"fmt"
	"math"
	"strings"
)

// NoDataLimit is the share of metrics, in percent, at or above which
// missing data makes the result inconclusive (score 0), as Kayenta's
// WeightedSumScorer's NODATA_THRESHOLD.
const NoDataLimit = 50

// Verdict is what the judgement means for the release. Its values are
// those of shipprod.Verdict, so shipprod.Verdict(v) converts it.
type Verdict string

// Verdicts.
const (
	VerdictPassed       Verdict = "passed"
	VerdictFailed       Verdict = "failed"
	VerdictInconclusive Verdict = "inconclusive"
)

// ScoreClass is Kayenta's ThresholdScoreClassifier's reading of a score.
type ScoreClass string

// Score classes: score ≥ pass, marginal ≤ score < pass, score < marginal.
const (
	ScorePass     ScoreClass = "pass"
	ScoreMarginal ScoreClass = "marginal"
	ScoreFail     ScoreClass = "fail"
)

// Result is a judgement of the canary.
type Result struct {
	// Verdict: passed when the score passes and no critical metric lacks
	// data; failed when a critical metric fails or the score is below
	// marginal; inconclusive when the score is marginal, when NoDataLimit
	// percent or more of the metrics have no data, or when a critical
	// metric has no data.
	Verdict Verdict `json:"verdict"`
	// Score is the weighted sum of the group scores, 0–100, rounded to two
	// decimals; 0 after a critical failure or with too little data.
	Score float64 `json:"score"`
	// Class is the score read against pass and marginal.
	Class ScoreClass `json:"class"`
	// Reason explains the verdict in one line.
	Reason  string         `json:"reason"`
	Groups  []GroupScore   `json:"groups"`
	Metrics []MetricResult `json:"metrics"`
}

// GroupScore is one group's share of the score.
type GroupScore struct {
	Name string `json:"name"`
	// Weight is the group's effective weight in percent: configured, or a
	// share of what the configured weights leave.
	Weight float64 `json:"weight"`
	// Score is Pass/(Pass+High+Low+NoDataFail)×100, or 100 when that
	// denominator is 0 (Unscored).
	Score    float64 `json:"score"`
	Unscored bool    `json:"unscored,omitempty"`
	// The group's metrics by class.
	Pass       int `json:"pass"`
	High       int `json:"high,omitempty"`
	Low        int `json:"low,omitempty"`
	NoData     int `json:"nodata,omitempty"`
	NoDataFail int `json:"nodata_fail,omitempty"`
}

// score turns the metric results into a Result, as Kayenta's
// WeightedSumScorer and ThresholdScoreClassifier do.
func (j *Judge) score(results []MetricResult) Result {
	res := Result{Metrics: results, Groups: j.groupScores(results)}
	noData, critNoData := 0, ""
	for _, r := range results {
		if r.CriticalFailure() {
			res.Verdict, res.Class = VerdictFailed, ScoreFail
			res.Reason = "critical metric " + r.Name + " failed: " + r.Reason
			return res
		}
		if r.Class == ClassNoData {
			noData++
			if r.Critical && critNoData == "" {
				critNoData = r.Name
			}
		}
	}
	if 100*noData >= NoDataLimit*len(results) {
		res.Verdict, res.Class = VerdictInconclusive, ScoreFail
		res.Reason = fmt.Sprintf("%d of %d metrics have no data (%s or more): too little to judge", noData, len(results), percentText(NoDataLimit/100.0))
		return res
	}
	sum := 0.0
	for _, g := range res.Groups {
		sum += g.Score * g.Weight / 100
	}
	res.Score = math.Round(sum*100) / 100
	failed := failedList(results)
	switch {
	case res.Score >= j.cfg.Pass:
		res.Class, res.Verdict = ScorePass, VerdictPassed
		res.Reason = fmt.Sprintf("score %s ≥ pass %s", num(res.Score), num(j.cfg.Pass))
	case res.Score >= j.cfg.Marginal:
		res.Class, res.Verdict = ScoreMarginal, VerdictInconclusive
		res.Reason = fmt.Sprintf("score %s is marginal (%s ≤ score < %s)", num(res.Score), num(j.cfg.Marginal), num(j.cfg.Pass))
	default:
		res.Class, res.Verdict = ScoreFail, VerdictFailed
		res.Reason = fmt.Sprintf("score %s < marginal %s", num(res.Score), num(j.cfg.Marginal))
	}
	if failed != "" {
		res.Reason += ": " + failed
	}
	if critNoData != "" && res.Verdict == VerdictPassed {
		res.Verdict = VerdictInconclusive
		res.Reason += "; but critical metric " + critNoData + " has no data, so the canary cannot pass"
	}
	return res
}

// groupScores scores each configured group.
func (j *Judge) groupScores(results []MetricResult) []GroupScore {
	at := make(map[string]int, len(j.groups))
	out := make([]GroupScore, len(j.groups))
	for i, g := range j.groups {
		at[g.name] = i
		out[i] = GroupScore{Name: g.name, Weight: g.weight}
	}
	for _, r := range results {
		g := &out[at[r.Group]]
		switch r.Class {
		case ClassPass:
			g.Pass++
		case ClassHigh:
			g.High++
		case ClassLow:
			g.Low++
		case ClassNoData:
			g.NoData++
		case ClassNoDataFail:
			g.NoDataFail++
		}
	}
	for i := range out {
		g := &out[i]
		counted := g.Pass + g.High + g.Low + g.NoDataFail
		if counted == 0 {
			g.Unscored, g.Score = true, 100 // as Kayenta: a group without data does not lower the score
			continue
		}
		g.Score = 100 * float64(g.Pass) / float64(counted)
	}
	return out
}

// failedList names the metrics that did not pass, e.g. "p95-latency high,
// errors no data".
func failedList(results []MetricResult) string {
	var parts []string
	for _, r := range results {
		switch r.Class {
		case ClassHigh, ClassLow:
			parts = append(parts, r.Name+" "+string(r.Class))
		case ClassNoDataFail:
			parts = append(parts, r.Name+" has no data, which it must have")
		case ClassNoData:
			parts = append(parts, r.Name+" has no data")
		}
	}
	return strings.Join(parts, ", ")
}
