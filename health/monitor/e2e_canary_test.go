package monitor_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health/internal/servicetest"
	"github.com/shipprod/shipprod/health/internal/testexporter"
	"github.com/shipprod/shipprod/health/monitor"
	"github.com/shipprod/shipprod/health/prometheus"
)

// TestEndToEndCanaryRealPrometheus judges a canary against its baseline
// from a real Prometheus scraping an exporter that serves the same metrics
// for two deployments, deployment="canary" and deployment="stable": while
// both are healthy the stage passes; when the canary's error rate rises
// (the stable release's stays at 0) the judge fails the stage.
//
// A stage's points must come from different moments of the real data, so
// the stages run on the system clock: 3 s each, a point every 250 ms (the
// scrape interval of .ci/services.sh's Prometheus).
func TestEndToEndCanaryRealPrometheus(t *testing.T) {
	v := servicetest.Require(t, "a Prometheus server scraping the test exporter", "SHIPPROD_TEST_PROMETHEUS_URL", "SHIPPROD_TEST_EXPORTER_ADDR")
	promURL, exporterAddr := v[0], v[1]
	run := fmt.Sprintf("e2e-canary-%d", time.Now().UnixNano())
	exp, err := testexporter.Start(exporterAddr, run)
	require.NoError(t, err)
	defer exp.Close()
	canaryTraffic, stableTraffic := exp.AddDeployment("canary"), exp.AddDeployment("stable")
	stableTraffic.SetErrorShare(0)

	const perDeployment = `shipprod_test_http_requests_total{run=%q,deployment="{{.Deployment.ID}}"`
	errQ := fmt.Sprintf(`sum(rate(`+perDeployment+`,code=~"5.."}[1s])) / sum(rate(`+perDeployment+`}[1s]))`, run, run)
	p95Q := fmt.Sprintf(`histogram_quantile(0.95, sum by (le) (rate(shipprod_test_http_request_duration_seconds_bucket{run=%q,deployment="{{.Deployment.ID}}"}[1s])))`, run)
	client := &prometheus.Client{URL: promURL}
	errorRatio := func(deployment string) (float64, bool, string) {
		q := fmt.Sprintf(`sum(rate(shipprod_test_http_requests_total{run=%q,deployment=%q,code=~"5.."}[1s])) / sum(rate(shipprod_test_http_requests_total{run=%q,deployment=%q}[1s]))`,
			run, deployment, run, deployment)
		res, err := client.Query(context.Background(), q, time.Time{})
		if err != nil {
			return 0, false, err.Error()
		}
		if len(res.Samples) != 1 {
			return 0, false, fmt.Sprintf("%d samples", len(res.Samples))
		}
		return res.Samples[0].Value, true, fmt.Sprint(res.Samples[0].Value)
	}
	eventually(t, "Prometheus scrapes both deployments", 20*time.Second, func() (bool, string) {
		c, okc, sc := errorRatio("canary")
		s, oks, ss := errorRatio("stable")
		return okc && oks && c == 0 && s == 0, "canary " + sc + ", stable " + ss
	})

	rollout := &shipprod.Rollout{Stages: []shipprod.RolloutStage{{Percent: 10, Watch: 3 * time.Second}, {Percent: 50, Watch: 3 * time.Second}, {Percent: 100}}}
	m, err := monitor.New(monitor.Config{
		Interval:   250 * time.Millisecond,
		Prometheus: monitor.PrometheusConfig{URL: promURL, Timeout: 5 * time.Second},
		Gates: []monitor.GateConfig{
			{Name: "error-rate", Query: errQ, Compare: monitor.CompareCanary, Unit: "ratio", Critical: true, Judge: &monitor.GateJudge{MinEffect: 0.01}},
			{Name: "p95-latency", Query: p95Q, Compare: monitor.CompareCanary, Unit: "seconds", Judge: &monitor.GateJudge{AllowedIncrease: 1.2}},
		},
	}, monitor.Options{Clock: shipprod.SystemClock(), Rollout: rollout})
	require.NoError(t, err)
	canary := shipprod.Deployment{Provider: "test", ID: "canary"}
	stable := shipprod.Deployment{Provider: "test", ID: "stable"}
	stage := func(i int) shipprod.StageInfo {
		return shipprod.StageInfo{Index: i, Of: len(rollout.Stages), Stage: rollout.Stages[i], Baseline: &stable}
	}

	// Both healthy: the stage passes.
	rep, err := m.WatchStageReport(context.Background(), rel, canary, shipprod.MonitorBaseline{}, stage(0))
	require.NoError(t, err)
	t.Logf("stage 1: %s: %s", rep.Verdict, rep.Reason)
	assert.Equal(t, shipprod.VerdictPassed, rep.Verdict, rep.Reason)
	require.Len(t, rep.Gates, 2)
	assert.GreaterOrEqual(t, rep.Gates[0].Measurements, 10)
	assert.Regexp(t, `^gate error-rate passed: canary score 100 ≥ pass 95: error-rate: canary and baseline data are identical \(1\d points\) — pass$`, rep.Gates[0].Message)

	// The canary's errors rise to 30% of its requests; the stable
	// release's stay at 0.
	canaryTraffic.SetErrorShare(0.3)
	eventually(t, "Prometheus sees the canary's errors", 20*time.Second, func() (bool, string) {
		v, ok, state := errorRatio("canary")
		return ok && v > 0.25, state
	})
	rep, err = m.WatchStageReport(context.Background(), rel, canary, shipprod.MonitorBaseline{}, stage(1))
	require.NoError(t, err)
	t.Logf("stage 2: %s: %s", rep.Verdict, rep.Reason)
	assert.Equal(t, shipprod.VerdictFailed, rep.Verdict)
	assert.Regexp(t, `^gate error-rate failed: canary score 0 \(critical gate\): error-rate: canary \d+(\.\d+)?% vs baseline 0% \(.*\) — high \(critical\); `+
		`critical gate error-rate failed at [\d.]+m?s of 3s and ended the window$`, rep.Reason)
	assert.Equal(t, shipprod.VerdictPassed, rep.Gates[1].Verdict, "the latency is the same: %s", rep.Gates[1].Message)
	last := rep.Measurements["error-rate"]
	failed := last[len(last)-1]
	assert.Equal(t, shipprod.VerdictFailed, failed.Phase)
	assert.InDelta(t, 0.3, *failed.Value, 0.05)
	assert.Equal(t, 0.0, *failed.Baseline)
}
