package monitor_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health/monitor"
	"github.com/shipprod/shipprod/health/prometheus/promtest"
	"github.com/shipprod/shipprod/shipprodtest"
)

// canaryErrorsQ is a canary gate's query template; canaryQ and stableQ are
// what it renders to for the canary (dpl_canary) and the baseline
// (dpl_stable).
const (
	canaryErrorsQ = `sum(rate(http_requests_total{deployment="{{.Deployment.ID}}",code=~"5.."}[1m])) / sum(rate(http_requests_total{deployment="{{.Deployment.ID}}"}[1m]))`
	canaryQ       = `sum(rate(http_requests_total{deployment="dpl_canary",code=~"5.."}[1m])) / sum(rate(http_requests_total{deployment="dpl_canary"}[1m]))`
	stableQ       = `sum(rate(http_requests_total{deployment="dpl_stable",code=~"5.."}[1m])) / sum(rate(http_requests_total{deployment="dpl_stable"}[1m]))`
)

var (
	canaryDep = shipprod.Deployment{Provider: "test", ID: "dpl_canary"}
	stableDep = shipprod.Deployment{Provider: "test", ID: "dpl_stable", Version: "2.6.3", Tag: "v2.6.3"}
	stages    = &shipprod.Rollout{Stages: []shipprod.RolloutStage{{Percent: 5, Watch: 10 * time.Minute}, {Percent: 25, Watch: 10 * time.Minute}, {Percent: 100}}}
)

func canaryGate() monitor.GateConfig {
	return monitor.GateConfig{Name: "error-rate", Query: canaryErrorsQ, Compare: monitor.CompareCanary, Unit: "ratio", Critical: true,
		Judge: &monitor.GateJudge{MinEffect: 0.001}}
}

// wobble answers level ± spread, a different value each request, as a
// real error ratio moves from one minute to the next.
func wobble(level, spread, phase float64) func(int) promtest.Response {
	return func(n int) promtest.Response {
		return promtest.Vector(level + spread*math.Sin(float64(n)*1.3+phase))
	}
}

func stage(i int) shipprod.StageInfo {
	return shipprod.StageInfo{Index: i, Of: len(stages.Stages), Stage: stages.Stages[i], Baseline: &stableDep}
}

func newCanaryMonitor(t *testing.T, clock shipprod.Clock, url string, gates ...monitor.GateConfig) *monitor.Monitor {
	t.Helper()
	m, err := monitor.New(monitor.Config{Interval: time.Minute, Prometheus: monitor.PrometheusConfig{URL: url}, Gates: gates},
		monitor.Options{Clock: clock, Rollout: stages})
	require.NoError(t, err)
	return m
}

func TestHealthyCanaryPassesEachStage(t *testing.T) {
	prom := promtest.NewServer(t)
	prom.SetFunc(canaryQ, wobble(0.004, 0.001, 0))
	prom.SetFunc(stableQ, wobble(0.004, 0.001, 1))
	clock := shipprodtest.NewClock(start)
	m := newCanaryMonitor(t, clock, prom.URL, canaryGate())
	for i := range 2 {
		rep, err := m.WatchStageReport(context.Background(), rel, canaryDep, shipprod.MonitorBaseline{}, stage(i))
		require.NoError(t, err)
		assert.Equal(t, shipprod.VerdictPassed, rep.Verdict, rep.Reason)
		assert.Equal(t, 10*time.Minute, rep.Window)
		require.Len(t, rep.Gates, 1)
		g := rep.Gates[0]
		assert.Equal(t, 11, g.Measurements, "0m, 1m, … 10m")
		assert.Regexp(t, `^gate error-rate passed: canary score 100 ≥ pass 95: error-rate: canary 0\.\d+% vs baseline 0\.\d+% \(.*\) — pass`, g.Message)
		last := rep.Measurements["error-rate"][9]
		assert.Equal(t, shipprod.VerdictPassed, last.Phase)
		assert.NotNil(t, last.Value)
		assert.NotNil(t, last.Baseline)
		assert.Regexp(t, `^canary 0\.\d+% vs baseline 0\.\d+%$`, last.Message)
	}
	assert.Equal(t, start.Add(20*time.Minute), clock.Now())
	assert.Equal(t, 22, prom.Count(canaryQ))
	assert.Equal(t, 22, prom.Count(stableQ))
}

// The canary's error rate rises while the baseline stays flat: the judge
// fails the gate at an interim look, as soon as it has its points, and the
// stage ends there.
func TestCanaryErrorRiseFailsTheStage(t *testing.T) {
	prom := promtest.NewServer(t)
	prom.SetFunc(canaryQ, wobble(0.03, 0.003, 0))
	prom.SetFunc(stableQ, wobble(0.004, 0.001, 1))
	clock := shipprodtest.NewClock(start)
	long := &shipprod.Rollout{Stages: []shipprod.RolloutStage{{Percent: 25, Watch: 30 * time.Minute}, {Percent: 100}}}
	m, err := monitor.New(monitor.Config{Interval: time.Minute, Prometheus: monitor.PrometheusConfig{URL: prom.URL}, Gates: []monitor.GateConfig{canaryGate()}},
		monitor.Options{Clock: clock, Rollout: long})
	require.NoError(t, err)
	rep, err := m.WatchStageReport(context.Background(), rel, canaryDep, shipprod.MonitorBaseline{},
		shipprod.StageInfo{Index: 0, Of: 2, Stage: long.Stages[0], Baseline: &stableDep})
	require.NoError(t, err)

	assert.Equal(t, shipprod.VerdictFailed, rep.Verdict)
	// Ten points each at 9m: the first interim look.
	assert.Equal(t, start.Add(9*time.Minute), clock.Now(), "the stage ends at the failure, not at 30m")
	assert.Regexp(t, `^gate error-rate failed: canary score 0 \(critical gate\): error-rate: canary \d\.\d+% vs baseline 0\.\d+% \(×\d+\.?\d*, HL shift \+2\.\d+pp, 99\.8% CI \[\+2\.\d+pp, \+2\.\d+pp\]\) — high \(critical\)`+
		`; critical gate error-rate failed at 9m0s of 30m0s and ended the window$`, rep.Reason)
	failed := rep.Measurements["error-rate"][9]
	assert.Equal(t, shipprod.VerdictFailed, failed.Phase)
	assert.Equal(t, 1, rep.Gates[0].Failures)
}

// The same rise at the end of a stage too short for interim looks is found
// by the final judgement, at the configured confidence.
func TestCanaryFailsAtTheEndOfTheStage(t *testing.T) {
	prom := promtest.NewServer(t)
	prom.SetFunc(canaryQ, wobble(0.03, 0.003, 0))
	prom.SetFunc(stableQ, wobble(0.004, 0.001, 1))
	clock := shipprodtest.NewClock(start)
	m := newCanaryMonitor(t, clock, prom.URL, canaryGate())
	rep, err := m.WatchStageReport(context.Background(), rel, canaryDep, shipprod.MonitorBaseline{}, stage(1))
	require.NoError(t, err)
	assert.Equal(t, shipprod.VerdictFailed, rep.Verdict)
	assert.Contains(t, rep.Reason, "— high")
	assert.Contains(t, rep.Reason, "98% CI [", "the final judgement is at the configured confidence")
}

// A canary without enough traffic for most of the stage (no data) leaves
// too few points: the gate is inconclusive, and so is the stage.
func TestCanaryWithTooFewPointsIsInconclusive(t *testing.T) {
	prom := promtest.NewServer(t)
	prom.SetFunc(canaryQ, func(n int) promtest.Response {
		if n%3 == 0 {
			return wobble(0.004, 0.001, 0)(n)
		}
		return promtest.Empty()
	})
	prom.SetFunc(stableQ, wobble(0.004, 0.001, 1))
	m := newCanaryMonitor(t, shipprodtest.NewClock(start), prom.URL, canaryGate())
	rep, err := m.WatchStageReport(context.Background(), rel, canaryDep, shipprod.MonitorBaseline{}, stage(0))
	require.NoError(t, err)
	assert.Equal(t, shipprod.VerdictInconclusive, rep.Verdict, rep.Reason)
	assert.Equal(t, "gate error-rate inconclusive: canary not scored: 1 of 1 metrics have no data (50% or more): too little to judge: "+
		"error-rate: canary has 4 points, baseline 11; at least 10 needed in each — no data", rep.Reason)
	g := rep.Gates[0]
	assert.Equal(t, 11, g.Measurements)
	assert.Equal(t, 7, g.Inconclusive)
	first := rep.Measurements["error-rate"][1]
	assert.Equal(t, shipprod.VerdictInconclusive, first.Phase)
	assert.Regexp(t, `^canary no data \(the query returned an empty vector\) vs baseline 0\.\d+%$`, first.Message)
}

// WatchStage watches for the stage's window, not the monitor's; the
// initial delay and the interval are capped to a short stage.
func TestWatchStageHonoursTheStageWindow(t *testing.T) {
	for _, tt := range []struct {
		name       string
		watch      time.Duration
		delay      time.Duration
		interval   time.Duration
		want       int
		firstAt    time.Duration
		finishedAt time.Duration
	}{
		{"ten minutes", 10 * time.Minute, 2 * time.Minute, time.Minute, 9, 2 * time.Minute, 10 * time.Minute},
		{"shorter than the delay", 90 * time.Second, 2 * time.Minute, time.Minute, 1, 90 * time.Second, 90 * time.Second},
		{"shorter than the interval", 30 * time.Second, 0, 5 * time.Minute, 2, 0, 30 * time.Second},
		{"none: the monitor's window", 0, 0, 5 * time.Minute, 4, 0, 15 * time.Minute},
	} {
		t.Run(tt.name, func(t *testing.T) {
			prom := promtest.NewServer(t)
			prom.Set(p95Q, promtest.Vector(0.2))
			clock := shipprodtest.NewClock(start)
			var seen []time.Time
			m, err := monitor.New(monitor.Config{InitialDelay: tt.delay, Interval: tt.interval, Prometheus: monitor.PrometheusConfig{URL: prom.URL},
				Gates: []monitor.GateConfig{{Name: "p95", Query: p95Q, Compare: monitor.CompareThreshold, Max: ptr(0.5), Unit: "seconds"}}},
				monitor.Options{Clock: clock, OnMeasurement: func(m monitor.Measurement) { seen = append(seen, m.At) }})
			require.NoError(t, err)
			began := time.Now()
			rep, err := m.WatchStage(context.Background(), rel, dep, shipprod.MonitorBaseline{},
				shipprod.StageInfo{Index: 0, Of: 2, Stage: shipprod.RolloutStage{Percent: 10, Watch: tt.watch}})
			require.NoError(t, err)
			assert.Less(t, time.Since(began), 5*time.Second, "the fake clock runs the stage")
			assert.Equal(t, shipprod.VerdictPassed, rep.Verdict, rep.Reason)
			assert.Equal(t, start.Add(tt.finishedAt), rep.FinishedAt)
			assert.Equal(t, start.Add(tt.finishedAt), clock.Now())
			assert.Equal(t, tt.finishedAt, rep.Window)
			require.Len(t, seen, tt.want)
			assert.Equal(t, start.Add(tt.firstAt), seen[0])
			assert.Equal(t, tt.want, rep.Gates[0].Measurements)
		})
	}
}

// Outside a stage there is no baseline deployment: Watch skips the canary
// gates, says so, and judges the window by the others; a stage without a
// baseline deployment skips them too.
func TestCanaryGatesAreSkippedWithoutABaselineDeployment(t *testing.T) {
	prom := promtest.NewServer(t)
	prom.Set(p95Q, promtest.Vector(0.2))
	p95 := monitor.GateConfig{Name: "p95", Query: p95Q, Compare: monitor.CompareThreshold, Max: ptr(0.5), Unit: "seconds"}
	clock := shipprodtest.NewClock(start)
	m := newCanaryMonitor(t, clock, prom.URL, canaryGate(), p95)
	rep, err := m.Watch(context.Background(), rel, canaryDep, shipprod.MonitorBaseline{})
	require.NoError(t, err)
	assert.Equal(t, shipprod.VerdictPassed, rep.Verdict)
	assert.Equal(t, "all 1 gates passed over 15m0s; gate error-rate skipped (inconclusive): outside a rollout stage there is no baseline deployment to compare the canary with", rep.Reason)
	assert.Equal(t, shipprod.VerdictInconclusive, rep.Gates[0].Verdict)
	assert.Equal(t, 0, rep.Gates[0].Measurements)
	assert.Equal(t, 0, prom.Count(canaryQ))

	noBase := stage(0)
	noBase.Baseline = nil
	only := newCanaryMonitor(t, clock, prom.URL, canaryGate())
	rep, err = only.WatchStage(context.Background(), rel, canaryDep, shipprod.MonitorBaseline{}, noBase)
	require.NoError(t, err)
	assert.Equal(t, shipprod.VerdictInconclusive, rep.Verdict, "nothing judged the stage")
	assert.Equal(t, "no gate could judge the window; gate error-rate skipped (inconclusive): what production ran before the release is unknown "+
		"(the deployer does not say: shipprod.ProductionReader), so there is no baseline deployment to compare the canary with", rep.Reason)
}

// The query template gets both deployments, which side it renders for,
// and label values escaped for PromQL strings and regular expressions.
func TestCanaryQueryTemplate(t *testing.T) {
	prom := promtest.NewServer(t)
	gate := canaryGate()
	gate.Query = `sum(rate(x{role="{{.Role}}",id="{{.Deployment.ID}}",version=~"{{.Deployment.Version.Regex}}",other="{{if eq .Role "canary"}}{{.Baseline.ID}}{{else}}{{.Canary.ID}}{{end}}"}[1m])) # {{.Canary.Version.Raw}}`
	clock := shipprodtest.NewClock(start)
	m := newCanaryMonitor(t, clock, prom.URL, gate)
	odd := shipprod.Deployment{Provider: "test", ID: `dpl_"quoted"\x`}
	_, err := m.WatchStage(context.Background(), rel, odd, shipprod.MonitorBaseline{}, stage(0))
	require.NoError(t, err)
	var queries []string
	for _, r := range prom.Requests() {
		queries = append(queries, r.Query)
	}
	assert.Contains(t, queries, `sum(rate(x{role="canary",id="dpl_\"quoted\"\\x",version=~"2\\.7\\.0",other="dpl_stable"}[1m])) # 2.7.0`,
		"the canary's version is the release's when the deployment does not say")
	assert.Contains(t, queries, `sum(rate(x{role="baseline",id="dpl_stable",version=~"2\\.6\\.3",other="dpl_\"quoted\"\\x"}[1m])) # 2.7.0`)
}

// The plan states what a canary gate checks.
func TestMonitorPlanStatesTheCanaryCondition(t *testing.T) {
	gate := canaryGate()
	gate.Judge.AllowedIncrease = 1.2
	m := newCanaryMonitor(t, shipprodtest.NewClock(start), "http://127.0.0.1:9090", gate)
	plan := m.MonitorPlan()
	require.Len(t, plan.Gates, 1)
	assert.Equal(t, canaryErrorsQ, plan.Gates[0].Query)
	assert.Equal(t, "canary vs baseline: high if significantly higher by ×1.2 and +0.1 percentage points (98% confidence, at least 10 points each); canary score ≥ 95 passes, < 75 fails",
		plan.Gates[0].Condition)
	actions, err := m.PlanActions(context.Background(), rel)
	require.NoError(t, err)
	assert.Contains(t, actions[0].Description, "error-rate (canary vs baseline: high if significantly higher")
}

// Several canary gates are one canary analysis with one score; a dry-run
// canary gate is judged on its own and fails nothing.
func TestCanaryGatesShareOneScore(t *testing.T) {
	const (
		latencyQ       = `histogram_quantile(0.95, sum by (le) (rate(latency_bucket{deployment="{{.Deployment.ID}}"}[1m])))`
		canaryLatency  = `histogram_quantile(0.95, sum by (le) (rate(latency_bucket{deployment="dpl_canary"}[1m])))`
		stableLatency  = `histogram_quantile(0.95, sum by (le) (rate(latency_bucket{deployment="dpl_stable"}[1m])))`
		throughputQ    = `sum(rate(requests{deployment="{{.Deployment.ID}}"}[1m]))`
		canaryRequests = `sum(rate(requests{deployment="dpl_canary"}[1m]))`
		stableRequests = `sum(rate(requests{deployment="dpl_stable"}[1m]))`
	)
	prom := promtest.NewServer(t)
	prom.SetFunc(canaryQ, wobble(0.004, 0.001, 0))
	prom.SetFunc(stableQ, wobble(0.004, 0.001, 1))
	prom.SetFunc(canaryLatency, wobble(0.31, 0.03, 0)) // a quarter slower
	prom.SetFunc(stableLatency, wobble(0.25, 0.025, 1))
	prom.SetFunc(canaryRequests, wobble(60, 5, 0)) // half the traffic
	prom.SetFunc(stableRequests, wobble(120, 10, 1))
	errors := canaryGate()
	errors.Judge.Weight = 40
	latency := monitor.GateConfig{Name: "p95-latency", Query: latencyQ, Compare: monitor.CompareCanary, Unit: "seconds",
		Judge: &monitor.GateJudge{AllowedIncrease: 1.1, Weight: 60}}
	throughput := monitor.GateConfig{Name: "throughput", Query: throughputQ, Compare: monitor.CompareCanary, DryRun: true,
		Judge: &monitor.GateJudge{Direction: "decrease"}}
	m := newCanaryMonitor(t, shipprodtest.NewClock(start), prom.URL, errors, latency, throughput)
	rep, err := m.WatchStageReport(context.Background(), rel, canaryDep, shipprod.MonitorBaseline{}, stage(0))
	require.NoError(t, err)

	assert.Equal(t, shipprod.VerdictFailed, rep.Verdict)
	require.Len(t, rep.Gates, 3)
	assert.Equal(t, shipprod.VerdictPassed, rep.Gates[0].Verdict, rep.Gates[0].Message)
	assert.True(t, strings.HasPrefix(rep.Gates[0].Message, "gate error-rate passed: canary score 40 < marginal 75: error-rate: "), rep.Gates[0].Message)
	assert.Equal(t, shipprod.VerdictFailed, rep.Gates[1].Verdict)
	assert.Regexp(t, `^gate p95-latency failed: canary score 40 < marginal 75: p95-latency: canary 3\d\d(\.\d)?ms vs baseline 2\d\d(\.\d)?ms \(×1\.\d+, .*\) — high`, rep.Gates[1].Message)
	assert.Equal(t, shipprod.VerdictFailed, rep.Gates[2].Verdict, "the dry-run gate is judged alone")
	assert.True(t, strings.HasPrefix(rep.Gates[2].Message, "dry run: gate throughput failed: canary score 0 < marginal 75: throughput: "), rep.Gates[2].Message)
	assert.True(t, strings.HasSuffix(rep.Gates[2].Message, "— low (would have rolled back)"), rep.Gates[2].Message)
}

// A metrics outage is an error, not a failure of the canary.
func TestCanaryMetricsOutageIsAnError(t *testing.T) {
	prom := promtest.NewServer(t)
	prom.SetFunc(canaryQ, wobble(0.004, 0.001, 0))
	prom.Set(stableQ, promtest.Fail("unavailable", "storage is down"))
	m := newCanaryMonitor(t, shipprodtest.NewClock(start), prom.URL, canaryGate())
	rep, err := m.WatchStage(context.Background(), rel, canaryDep, shipprod.MonitorBaseline{}, stage(0))
	require.NoError(t, err)
	assert.Equal(t, shipprod.VerdictError, rep.Verdict, rep.Reason)
	assert.Contains(t, rep.Reason, "gate error-rate error: no measurement succeeded in the window (11 errors); last: baseline: ")
	assert.Contains(t, rep.Reason, "storage is down")
}

func TestCanaryConfigErrors(t *testing.T) {
	short := &shipprod.Rollout{Stages: []shipprod.RolloutStage{{Percent: 10, Watch: 5 * time.Minute}, {Percent: 100}}}
	for _, tt := range []struct {
		name    string
		judge   monitor.JudgeConfig
		gate    func(*monitor.GateConfig)
		rollout *shipprod.Rollout
		want    []string
	}{
		{name: "no rollout", rollout: nil, want: []string{"monitor.gates[0] (error-rate): compare: canary needs a rollout in stages"}},
		{name: "no watched stage", rollout: &shipprod.Rollout{Stages: []shipprod.RolloutStage{{Percent: 50}, {Percent: 100}}},
			want: []string{"monitor.gates[0] (error-rate): compare: canary needs a rollout in stages"}},
		{name: "stage too short", rollout: short, want: []string{
			"monitor.judge.min_points 10: rollout stage 1 (10%) is watched for 5m0s, which gives 6 measurements (every 1m0s after 0s): the canary gates could never be judged"}},
		{name: "bad template", gate: func(g *monitor.GateConfig) { g.Query = `up{id="{{.Deployment.ID"}` },
			want: []string{`monitor.gates[0] (error-rate): query is not a valid template: template: query:1: bad character U+0022`}},
		{name: "unknown field", gate: func(g *monitor.GateConfig) { g.Query = `up{id="{{.Deployment.Name}}"}` },
			want: []string{`monitor.gates[0] (error-rate): query template: rendering the query for the canary: template: query:1:20: executing "query" at <.Deployment.Name>: can't evaluate field Name`}},
		{name: "same for both", gate: func(g *monitor.GateConfig) { g.Query = `up{id="{{.Canary.ID}}"}` },
			want: []string{`monitor.gates[0] (error-rate): query template: the query renders the same for the canary and the baseline (up{id="dpl_canary"}): it must tell them apart`}},
		{name: "threshold keys", gate: func(g *monitor.GateConfig) {
			g.MaxIncrease, g.FailureLimit, g.NoData = ptr(0.01), 2, monitor.NoDataPass
		},
			want: []string{"max_increase does not apply to compare: canary (use judge.allowed_increase or judge.min_effect)",
				"no_data does not apply to compare: canary", "failure_limit does not apply to compare: canary"}},
		{name: "judge of a gate", gate: func(g *monitor.GateConfig) { g.Judge = &monitor.GateJudge{AllowedIncrease: 0.5, Direction: "up"} },
			want: []string{"monitor.gates[0] (error-rate): judge.direction: \"up\" is not increase, decrease or either",
				"monitor.gates[0] (error-rate): judge.allowed_increase: 0.5 is not a ratio ≥ 1"}},
		{name: "judge section", judge: monitor.JudgeConfig{Confidence: 1.5, Pass: 70},
			want: []string{"monitor.judge.confidence: 1.5 is not between 0 and 1", "monitor.judge.marginal: 75 is not between 0 and pass (70)"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			gate := canaryGate()
			if tt.gate != nil {
				tt.gate(&gate)
			}
			rollout := stages
			if tt.rollout != nil || tt.name == "no rollout" {
				rollout = tt.rollout
			}
			_, err := monitor.New(monitor.Config{Interval: time.Minute, Judge: tt.judge, Prometheus: monitor.PrometheusConfig{URL: "http://127.0.0.1:9090"},
				Gates: []monitor.GateConfig{gate}}, monitor.Options{Rollout: rollout})
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}

	// Every problem at once: the canary gates, valid or not, are refused
	// for want of a rollout, beside their own problems.
	bad := canaryGate()
	bad.Query = `up{id="{{.Canary.ID}}"}`
	latency := canaryGate()
	latency.Name = "p95"
	_, err := monitor.New(monitor.Config{Prometheus: monitor.PrometheusConfig{URL: "http://127.0.0.1:9090"}, Gates: []monitor.GateConfig{bad, latency}},
		monitor.Options{})
	require.Error(t, err)
	assert.Equal(t, "2 problems in the monitor configuration:\n"+
		"  - monitor.gates[0] (error-rate): query template: the query renders the same for the canary and the baseline (up{id=\"dpl_canary\"}): it must tell them apart, e.g. with {{.Deployment.ID}}\n"+
		"  - monitor.gates[0] (error-rate), monitor.gates[1] (p95): compare: canary needs a rollout in stages (Options.Rollout, the Pipeline's rollout, has none): "+
		"the canary is compared with the deployment that serves the rest of the traffic during a stage", err.Error())

	// A judge key on another gate, and a judge section without canary gates.
	_, err = monitor.New(monitor.Config{Judge: monitor.JudgeConfig{MinPoints: 5}, Prometheus: monitor.PrometheusConfig{URL: "http://127.0.0.1:9090"},
		Gates: []monitor.GateConfig{{Name: "p95", Query: p95Q, Compare: monitor.CompareThreshold, Max: ptr(0.5), Judge: &monitor.GateJudge{}}}}, monitor.Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "monitor.gates[0] (p95): judge: only for compare: canary")
	assert.Contains(t, err.Error(), "monitor.judge is set, but no gate has compare: canary")
}
