package monitor

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health/judge"
)

// canaryGroup is a set of compare: canary gates judged together, as one
// canary analysis with one score: all the gates that count, or one dry-run
// gate alone (so that a dry-run gate never moves the score of the gates
// that count).
type canaryGroup struct {
	gates []*gate
	cfg   judge.Config
	final *judge.Judge
}

// judgeConfig is the judge's configuration of gates judged together.
func (m *Monitor) judgeConfig(gates []*gate, alone bool) judge.Config {
	jc := m.cfg.Judge
	cfg := judge.Config{Pass: jc.Pass, Marginal: jc.Marginal, Confidence: jc.Confidence, Tolerance: jc.Tolerance, MinPoints: jc.MinPoints}
	for _, g := range gates {
		cfg.Metrics = append(cfg.Metrics, metricConfig(g, alone))
	}
	return cfg
}

// metricConfig is a canary gate as a metric of the judge. Alone, a gate
// has no weight nor group: its score is its own.
func metricConfig(g *gate, alone bool) judge.MetricConfig {
	var j GateJudge
	if g.cfg.Judge != nil {
		j = *g.cfg.Judge
	}
	if j.Direction == "" {
		j.Direction = judge.Increase
	}
	mc := judge.MetricConfig{Name: g.name, Direction: j.Direction, AllowedIncrease: j.AllowedIncrease, AllowedDecrease: j.AllowedDecrease,
		MinEffect: j.MinEffect, Critical: g.critical, MustHaveData: j.MustHaveData, Weight: j.Weight, Group: j.Group,
		Outliers: j.Outliers, OutlierFactor: j.OutlierFactor, Unit: g.cfg.Unit}
	if alone {
		mc.Weight, mc.Group = 0, ""
	}
	return mc
}

// setupJudge groups the canary gates and builds their judges. A canary
// gate needs a rollout with a watched stage long enough for the judge's
// min_points; every problem names the gate or the key.
func (m *Monitor) setupJudge(rollout *shipprod.Rollout, report func(string, ...any)) {
	// A problem of monitor.judge is found in every group: say it once.
	seen := map[string]bool{}
	fail := func(format string, args ...any) {
		if msg := fmt.Sprintf(format, args...); !seen[msg] {
			seen[msg] = true
			report("%s", msg)
		}
	}
	var counting []*gate
	for _, g := range m.gates {
		switch {
		case !g.canary():
		case g.dryRun:
			m.addCanaryGroup([]*gate{g}, true, fail)
		default:
			counting = append(counting, g)
		}
	}
	if len(counting) > 0 {
		m.addCanaryGroup(counting, false, fail)
	}
	// Which gates compare the canary, valid or not.
	var configured []string
	for i, gc := range m.cfg.Gates {
		if gc.Compare == CompareCanary {
			configured = append(configured, gateWhere(i, gc.Name))
		}
	}
	switch {
	case len(configured) == 0:
		if m.cfg.Judge != (JudgeConfig{}) {
			fail("monitor.judge is set, but no gate has compare: canary")
		}
		return
	case !watchedStages(rollout):
		fail("%s: %v", strings.Join(configured, ", "), errNoRollout)
		return
	}
	if len(m.canary) > 0 {
		m.checkStagePoints(rollout, fail)
	}
}

func (m *Monitor) addCanaryGroup(gates []*gate, alone bool, fail func(string, ...any)) {
	cfg := m.judgeConfig(gates, alone)
	j, err := judge.New(cfg)
	if err != nil {
		for _, msg := range judgeProblems(err, gates) {
			fail("%s", msg)
		}
		return
	}
	cg := &canaryGroup{gates: gates, cfg: j.Config(), final: j}
	for _, g := range gates {
		g.judged = cg.cfg
	}
	m.canary = append(m.canary, cg)
}

var metricKey = regexp.MustCompile(`^metrics\[(\d+)\]\.(.+)$`)

// judgeProblems translates the judge's configuration errors to the keys of
// the monitor section: metrics[i].x is the gate's judge.x, other keys are
// monitor.judge's. The same problem found in several groups is reported
// once, by the caller's dedup of identical lines.
func judgeProblems(err error, gates []*gate) []string {
	errs := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	}
	var out []string
	for _, e := range errs {
		ce, ok := errors.AsType[*judge.ConfigError](e)
		if !ok {
			out = append(out, "monitor.judge: "+e.Error())
			continue
		}
		if mk := metricKey.FindStringSubmatch(ce.Key); mk != nil {
			i, _ := strconv.Atoi(mk[1])
			out = append(out, fmt.Sprintf("%s: judge.%s: %s", gates[i].where, mk[2], ce.Problem))
			continue
		}
		if ce.Key == "metrics[].weight" {
			out = append(out, "monitor.gates[].judge.weight: "+ce.Problem)
			continue
		}
		out = append(out, fmt.Sprintf("monitor.judge.%s: %s", ce.Key, ce.Problem))
	}
	return out
}

// watchedStages reports whether a rollout has a stage the monitor watches.
func watchedStages(r *shipprod.Rollout) bool {
	if r == nil {
		return false
	}
	for _, s := range r.Stages {
		if s.Watch > 0 {
			return true
		}
	}
	return false
}

// checkStagePoints refuses a rollout stage too short for the judge: its
// measurements could never reach min_points, so the stage could only be
// inconclusive, and the rollout would stop there.
func (m *Monitor) checkStagePoints(rollout *shipprod.Rollout, fail func(string, ...any)) {
	need := m.canary[0].cfg.MinPoints
	for i, s := range rollout.Stages {
		if s.Watch <= 0 {
			continue
		}
		t := m.stageTiming(s.Watch)
		if n := t.rounds(); n < need {
			fail("monitor.judge.min_points %d: rollout stage %d (%s) is watched for %s, which gives %d measurements (every %s after %s): "+
				"the canary gates could never be judged; measure more often (monitor.interval), watch the stage longer, or lower min_points",
				need, i+1, s, s.Watch, n, t.interval, t.delay)
		}
	}
}

// timing is the schedule of one window: measurements at delay, then every
// interval, up to and including the window's end.
type timing struct{ window, delay, interval time.Duration }

// rounds is how many measurements the window takes.
func (t timing) rounds() int { return int((t.window-t.delay)/t.interval) + 1 }

// stageTiming is the schedule of a stage watched for watch: the
// configured initial delay and interval, capped to the stage (the
// monitor's own window when the stage has none).
func (m *Monitor) stageTiming(watch time.Duration) timing {
	if watch <= 0 {
		watch = m.cfg.Window
	}
	return timing{window: watch, delay: min(m.cfg.InitialDelay, watch), interval: min(m.cfg.Interval, watch)}
}

// canaryJudging is a canary group during one window: the gates' states,
// the judge of the interim looks and the number of points per side at
// which the next look is due.
type canaryJudging struct {
	group   *canaryGroup
	states  []*gateState
	interim *judge.Judge
	next    int
}

// lookGrowth is how much the samples grow between two interim looks: the
// first look is at min_points, the next each time the samples have grown
// by a tenth. That bounds the judge's work over a long stage (all the
// looks together cost about eleven judgements of the whole stage) and
// keeps the looks few, so that correcting the confidence for them costs
// little power.
const lookGrowth = 1.1

func nextLook(points int) int { return max(points+1, int(math.Ceil(float64(points)*lookGrowth))) }

// interimLooks is how many interim looks a window of rounds measurements
// can take, at most: one per measurement but the last, as lookGrowth
// spaces them.
func interimLooks(minPoints, rounds int) int {
	n := 0
	for k := minPoints; k < rounds; k = nextLook(k) {
		n++
	}
	return max(n, 1)
}

// newCanaryJudging prepares the judging of the canary groups for a window
// of the given number of rounds. The interim looks (before the last
// measurement, once a gate has min_points on both sides) are judged at a
// stricter confidence, 1 − (1 − confidence)/looks (Bonferroni over the
// looks the window allows): together they add at most the configured rate
// of false failures to the final judgement's. Only a failure found at a
// look counts, and only one the data show (high or low): a gate without
// enough data yet is not a failure, must_have_data or not.
func (m *Monitor) newCanaryJudging(states []*gateState, rounds int) []*canaryJudging {
	byGate := map[*gate]*gateState{}
	for _, st := range states {
		byGate[st.g] = st
	}
	var out []*canaryJudging
	for _, cg := range m.canary {
		cj := &canaryJudging{group: cg}
		for _, g := range cg.gates {
			cj.states = append(cj.states, byGate[g])
		}
		looks := interimLooks(cg.cfg.MinPoints, rounds)
		cfg := cg.cfg
		cfg.Confidence = 1 - (1-cfg.Confidence)/float64(looks)
		cfg.MinPoints = max(cfg.MinPoints, minPointsFor(cfg.Confidence))
		cfg.Metrics = append([]judge.MetricConfig(nil), cfg.Metrics...)
		for i := range cfg.Metrics {
			cfg.Metrics[i].MustHaveData = false
		}
		// Valid by construction: the final configuration was, and the
		// confidence and min_points stay in range.
		cj.interim, _ = judge.New(cfg)
		cj.next = cfg.MinPoints
		out = append(out, cj)
	}
	return out
}

// minPointsFor is the fewest points per sample whose rank interval can
// reach confidence: all but the two most extreme of the C(2k, k)
// orderings, as the judge requires of min_points.
func minPointsFor(confidence float64) int {
	k := 1
	for 1-2/binomial(2*k, k) < confidence {
		k++
	}
	return k
}

func binomial(n, k int) float64 {
	lg := func(x int) float64 { v, _ := math.Lgamma(float64(x) + 1); return v }
	return math.Round(math.Exp(lg(n) - lg(k) - lg(n-k)))
}

// samples are the points of the group's gates so far.
func (cj *canaryJudging) samples() (map[string]judge.Samples, int) {
	out := map[string]judge.Samples{}
	most := 0
	for _, st := range cj.states {
		out[st.g.name] = judge.Samples{Canary: st.cs.canary, Baseline: st.cs.baseline}
		most = max(most, min(len(st.cs.canary), len(st.cs.baseline)))
	}
	return out, most
}

// look is an interim look: a gate the judge finds failed (high or low) has
// its measurement of this round, results[st.index], turned into a failure
// that says why.
func (cj *canaryJudging) look(results []Measurement) {
	samples, most := cj.samples()
	if most < cj.next {
		return
	}
	cj.next = nextLook(most)
	res, err := cj.interim.Judge(samples)
	if err != nil || res.Verdict != judge.VerdictFailed {
		return
	}
	for _, st := range cj.states {
		mr := metricResult(res, st.g.name)
		if st.verdict != "" || (mr.Class != judge.ClassHigh && mr.Class != judge.ClassLow) {
			continue
		}
		results[st.index].Phase = shipprod.VerdictFailed
		results[st.index].Message = canaryText(res, mr, cj.interim.Config())
	}
}

// decide judges the gates still running at the end of the window on all
// their points.
func (cj *canaryJudging) decide() {
	samples, _ := cj.samples()
	res, err := cj.group.final.Judge(samples)
	for _, st := range cj.states {
		if st.verdict != "" {
			continue
		}
		if err != nil { // cannot happen: the samples are the judge's own metrics
			st.decide(shipprod.VerdictError, "the judge failed: "+err.Error())
			continue
		}
		mr := metricResult(res, st.g.name)
		v := gateVerdict(res.Verdict, mr.Class)
		msg := canaryText(res, mr, cj.group.cfg)
		if v != shipprod.VerdictFailed {
			if ev, emsg, bad := st.errorVerdict(); bad {
				v, msg = ev, emsg
			}
		}
		st.decide(v, msg)
	}
}

// gateVerdict is a gate's share of the judge's verdict: a gate whose
// metric passed passes; one that was high, low or without the data it
// must have takes the judge's verdict; one left out for lack of data is
// inconclusive unless the canary passed without it.
func gateVerdict(v judge.Verdict, c judge.Class) shipprod.Verdict {
	switch c {
	case judge.ClassPass:
		return shipprod.VerdictPassed
	case judge.ClassNoData:
		if v == judge.VerdictPassed {
			return shipprod.VerdictPassed
		}
		return shipprod.VerdictInconclusive
	}
	return shipprod.Verdict(v)
}

func metricResult(res judge.Result, name string) judge.MetricResult {
	for _, mr := range res.Metrics {
		if mr.Name == name {
			return mr
		}
	}
	return judge.MetricResult{Name: name}
}

// canaryText says what the judge found of one gate, with the canary's
// score: "canary score 0 < marginal 75: error-rate: canary 3.2% vs
// baseline 0.5% (×6.4, …) — high".
func canaryText(res judge.Result, mr judge.MetricResult, cfg judge.Config) string {
	var score string
	switch {
	case mr.CriticalFailure():
		score = "canary score 0 (critical gate)"
	case res.Verdict == judge.VerdictInconclusive && res.Class == judge.ScoreFail:
		score = "canary not scored: " + res.Reason
	case res.Class == judge.ScoreFail:
		score = fmt.Sprintf("canary score %s < marginal %s", num(res.Score), num(cfg.Marginal))
	case res.Class == judge.ScoreMarginal:
		score = fmt.Sprintf("canary score %s is marginal (%s ≤ score < %s)", num(res.Score), num(cfg.Marginal), num(cfg.Pass))
	default:
		score = fmt.Sprintf("canary score %s ≥ pass %s", num(res.Score), num(cfg.Pass))
	}
	if mr.Reason == "" {
		return score
	}
	return score + ": " + mr.Reason
}

// conditionCanary says what fails a canary gate, for plans: "canary vs
// baseline: high if significantly higher by ×1.1 and +5ms (98%
// confidence, at least 10 points each); canary score ≥ 95 passes, < 75
// fails".
func (g *gate) conditionCanary() string {
	cfg := g.judged
	mc := metricConfig(g, false)
	var classes, sides []string
	if mc.Direction != judge.Decrease {
		classes = append(classes, "high")
		sides = append(sides, "higher"+effectText(mc.AllowedIncrease, mc.MinEffect, "+", g.cfg.Unit))
	}
	if mc.Direction != judge.Increase {
		classes = append(classes, "low")
		sides = append(sides, "lower"+effectText(mc.AllowedDecrease, mc.MinEffect, "-", g.cfg.Unit))
	}
	return fmt.Sprintf("canary vs baseline: %s if significantly %s (%s%% confidence, at least %d points each); canary score ≥ %s passes, < %s fails",
		strings.Join(classes, " or "), strings.Join(sides, " or "), num(cfg.Confidence*100), cfg.MinPoints, num(cfg.Pass), num(cfg.Marginal))
}

func effectText(ratio, minEffect float64, sign, unit string) string {
	var parts []string
	if ratio != 0 && ratio != 1 {
		parts = append(parts, "×"+num(ratio))
	}
	if minEffect > 0 {
		parts = append(parts, sign+formatDelta(minEffect, unit))
	}
	if len(parts) == 0 {
		return ""
	}
	return " by " + strings.Join(parts, " and ")
}
