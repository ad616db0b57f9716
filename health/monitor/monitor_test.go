package monitor_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health"
	"github.com/shipprod/shipprod/health/monitor"
	"github.com/shipprod/shipprod/health/prometheus"
	"github.com/shipprod/shipprod/health/prometheus/promtest"
	"github.com/shipprod/shipprod/shipprodtest"
)

const (
	errorRateQ = `sum(rate(http_requests_total{job="web",code=~"5.."}[5m])) / sum(rate(http_requests_total{job="web"}[5m]))`
	p95Q       = `histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="web"}[5m])))`
	trafficQ   = `sum(increase(http_requests_total{job="web"}[5m]))`
)

var (
	rel   = shipprod.Release{Version: "2.7.0", Tag: "v2.7.0", PreviousVersion: "2.6.3", PreviousTag: "v2.6.3"}
	dep   = shipprod.Deployment{Provider: "test", ID: "dpl_1"}
	start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
)

func ptr[T any](v T) *T { return &v }

func errorRateGate() monitor.GateConfig {
	return monitor.GateConfig{Name: "error-rate", Query: errorRateQ, Compare: monitor.CompareIncrease, MaxIncrease: ptr(0.01), Unit: "ratio", Critical: true}
}

// watch runs a whole window on a fake clock: Baseline, then Watch.
func watch(t *testing.T, cfg monitor.Config, opts monitor.Options) (monitor.Report, *shipprodtest.Clock) {
	t.Helper()
	clock := shipprodtest.NewClock(start)
	opts.Clock = clock
	m, err := monitor.New(cfg, opts)
	require.NoError(t, err)
	base, _ := m.Baseline(context.Background(), rel)
	rep, err := m.WatchReport(context.Background(), rel, dep, base)
	require.NoError(t, err)
	return rep, clock
}

func TestWindowPasses(t *testing.T) {
	prom := promtest.NewServer(t)
	prom.Set(errorRateQ, promtest.Vector(0.005), promtest.Vector(0.006), promtest.Vector(0.012))
	var seen []monitor.Measurement
	rep, clock := watch(t, monitor.Config{
		InitialDelay: 2 * time.Minute, // window 15m and interval 1m by default
		Prometheus:   monitor.PrometheusConfig{URL: prom.URL},
		Gates:        []monitor.GateConfig{errorRateGate()},
	}, monitor.Options{OnMeasurement: func(m monitor.Measurement) { seen = append(seen, m) }})

	assert.Equal(t, shipprod.VerdictPassed, rep.Verdict, rep.Reason)
	assert.Equal(t, "all 1 gates passed over 15m0s", rep.Reason)
	assert.Equal(t, 15*time.Minute, rep.Window)
	assert.Equal(t, start, rep.StartedAt)
	assert.Equal(t, start.Add(15*time.Minute), rep.FinishedAt)
	assert.Equal(t, start.Add(15*time.Minute), clock.Now())
	require.Len(t, rep.Gates, 1)
	g := rep.Gates[0]
	assert.Equal(t, shipprod.VerdictPassed, g.Verdict)
	// Measurements at 2m, 3m, … 15m.
	assert.Equal(t, 14, g.Measurements)
	assert.Equal(t, 0, g.Failures)
	assert.True(t, g.Critical)
	assert.Equal(t, "gate error-rate passed: 14 measurements: 14 passed, 0 failed, 0 inconclusive, 0 errors; last: value 1.2% vs threshold 1.5% (baseline 0.5%)", g.Message)
	require.Len(t, seen, 14)
	assert.Equal(t, start.Add(2*time.Minute), seen[0].At)
	assert.Equal(t, start.Add(15*time.Minute), seen[13].At)
	assert.Equal(t, 0.005, rep.Baseline.Values["error-rate"])
	// One baseline query and 14 measurements.
	assert.Equal(t, 15, prom.Count(errorRateQ))
	// Only the last 10 are kept.
	require.Len(t, rep.Measurements["error-rate"], 10)
	assert.Equal(t, start.Add(6*time.Minute), rep.Measurements["error-rate"][0].At)
	assert.Equal(t, start.Add(15*time.Minute), rep.Measurements["error-rate"][9].At)

	// The report is plain JSON.
	_, err := json.Marshal(rep)
	require.NoError(t, err)
}

func TestWindowFails(t *testing.T) {
	prom := promtest.NewServer(t)
	// Baseline 0.5%; production degrades to 3.2% at the 5th measurement.
	prom.SetFunc(errorRateQ, func(n int) promtest.Response {
		if n < 5 {
			return promtest.Vector(0.005)
		}
		return promtest.Vector(0.032)
	})
	gate := errorRateGate()
	gate.Critical = false
	rep, _ := watch(t, monitor.Config{
		Prometheus: monitor.PrometheusConfig{URL: prom.URL},
		Gates:      []monitor.GateConfig{gate},
	}, monitor.Options{})
	assert.Equal(t, shipprod.VerdictFailed, rep.Verdict)
	assert.Equal(t, "gate error-rate failed: value 3.2% vs threshold 1.5% (baseline 0.5%); gate error-rate failed at 4m0s of 15m0s and ended the window", rep.Reason)
	assert.Equal(t, "gate error-rate failed: value 3.2% vs threshold 1.5% (baseline 0.5%)", rep.Gates[0].Message)
	assert.Equal(t, 5, rep.Gates[0].Measurements)
	assert.Equal(t, 1, rep.Gates[0].Failures)
	last := rep.Measurements["error-rate"][4]
	assert.Equal(t, shipprod.VerdictFailed, last.Phase)
	assert.Equal(t, 0.032, *last.Value)
	assert.InDelta(t, 0.015, *last.Threshold, 1e-12)
	assert.Equal(t, 0.005, *last.Baseline)

	// A failed window is an error the Pipeline understands.
	merr := &shipprod.MonitorError{Report: rep.MonitorReport}
	assert.Equal(t, "production monitor failed: gate error-rate failed: value 3.2% vs threshold 1.5% (baseline 0.5%); gate error-rate failed at 4m0s of 15m0s and ended the window", merr.Error())
}

func TestFailureLimitToleratesSomeFailures(t *testing.T) {
	prom := promtest.NewServer(t)
	prom.Set(errorRateQ, promtest.Vector(0.005), promtest.Vector(0.03), promtest.Vector(0.005), promtest.Vector(0.03), promtest.Vector(0.005), promtest.Vector(0.03))
	gate := errorRateGate()
	gate.FailureLimit, gate.Critical = 2, false
	rep, _ := watch(t, monitor.Config{Window: 10 * time.Minute, Prometheus: monitor.PrometheusConfig{URL: prom.URL}, Gates: []monitor.GateConfig{gate}}, monitor.Options{})
	assert.Equal(t, shipprod.VerdictFailed, rep.Verdict)
	assert.Equal(t, 3, rep.Gates[0].Failures)
	assert.Equal(t, 5, rep.Gates[0].Measurements, "measurements at 0m: 3%%, 1m: 0.5%%, 2m: 3%%, 3m: 0.5%%, 4m: 3%%")
	assert.Equal(t, "gate error-rate failed: value 3% vs threshold 1.5% (baseline 0.5%) — 3 failed measurements, more than failure_limit 2; gate error-rate failed at 4m0s of 10m0s and ended the window", rep.Reason)
}

// A failed gate that is not dry-run decides the window — Failed is the worst
// verdict, so nothing measured later can change it — and the window ends at
// that measurement, critical or not, instead of leaving a degraded
// production in place until the window's end (as Argo Rollouts terminates
// an analysis run when a metric fails).
func TestFailedGateEndsTheWindow(t *testing.T) {
	const p99Q = `histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="web"}[5m])))`
	prom := promtest.NewServer(t)
	// Baseline 0.5% (request 0); measurements at 0m 0.5%, 1m 3%, 2m 0.5%,
	// 3m 3%, … — the second failure, at 3m, is more than failure_limit 1.
	prom.SetFunc(errorRateQ, func(n int) promtest.Response {
		if n == 0 || n%2 == 1 {
			return promtest.Vector(0.005)
		}
		return promtest.Vector(0.03)
	})
	prom.Set(p95Q, promtest.Vector(0.2))
	prom.Set(p99Q, promtest.Vector(2)) // fails the dry-run gate at once
	gate := errorRateGate()
	gate.Critical, gate.FailureLimit = false, 1
	var seen []monitor.Measurement
	rep, clock := watch(t, monitor.Config{
		Window:     15 * time.Minute,
		Prometheus: monitor.PrometheusConfig{URL: prom.URL},
		Gates: []monitor.GateConfig{
			{Name: "p95", Query: p95Q, Compare: monitor.CompareThreshold, Max: ptr(0.5), Unit: "seconds"},
			gate,
			{Name: "p99", Query: p99Q, Compare: monitor.CompareThreshold, Max: ptr(1.0), Unit: "seconds", DryRun: true},
		},
	}, monitor.Options{OnMeasurement: func(m monitor.Measurement) { seen = append(seen, m) }})

	assert.Equal(t, shipprod.VerdictFailed, rep.Verdict)
	assert.Equal(t, start.Add(3*time.Minute), rep.FinishedAt, "the window ends at the failure, not at 15m")
	assert.Equal(t, start.Add(3*time.Minute), clock.Now(), "nothing sleeps on after the failure")
	assert.Equal(t, "gate error-rate failed: value 3% vs threshold 1.5% (baseline 0.5%) — 2 failed measurements, more than failure_limit 1; "+
		"gate error-rate failed at 3m0s of 15m0s and ended the window; "+
		"dry run: gate p99 failed: value 2s vs threshold 1s (would have rolled back)", rep.Reason)
	require.Len(t, rep.Gates, 3)
	assert.Equal(t, shipprod.VerdictPassed, rep.Gates[0].Verdict, rep.Gates[0].Message)
	assert.Equal(t, 4, rep.Gates[0].Measurements, "p95 measured at 0m, 1m, 2m and 3m, then no more")
	assert.Equal(t, shipprod.VerdictFailed, rep.Gates[1].Verdict)
	assert.Equal(t, 4, rep.Gates[1].Measurements)
	assert.Equal(t, 2, rep.Gates[1].Failures)
	assert.Equal(t, shipprod.VerdictFailed, rep.Gates[2].Verdict, "the dry-run gate failed at 0m without ending the window")
	assert.Equal(t, 1, rep.Gates[2].Measurements)
	assert.Equal(t, 4, prom.Count(p95Q))
	assert.Equal(t, 5, prom.Count(errorRateQ), "the baseline and four measurements")
	require.NotEmpty(t, seen)
	assert.Equal(t, start.Add(3*time.Minute), seen[len(seen)-1].At)
}

// A critical gate fails on its first failed measurement: failure_limit does
// not apply to it, and the window ends there.
func TestCriticalGateFailsOnItsFirstFailure(t *testing.T) {
	prom := promtest.NewServer(t)
	prom.Set(errorRateQ, promtest.Vector(0.005), promtest.Vector(0.005), promtest.Vector(0.005), promtest.Vector(0.04), promtest.Vector(0.005))
	prom.Set(p95Q, promtest.Vector(0.2))
	critical := errorRateGate()
	critical.FailureLimit = 3
	rep, clock := watch(t, monitor.Config{
		Window:     10 * time.Minute,
		Prometheus: monitor.PrometheusConfig{URL: prom.URL},
		Gates: []monitor.GateConfig{
			{Name: "p95", Query: p95Q, Compare: monitor.CompareThreshold, Max: ptr(0.5), Unit: "seconds"},
			critical,
		},
	}, monitor.Options{})
	assert.Equal(t, shipprod.VerdictFailed, rep.Verdict)
	assert.Equal(t, start.Add(2*time.Minute), clock.Now())
	assert.Equal(t, 1, rep.Gates[1].Failures)
	assert.Equal(t, "gate error-rate failed: value 4% vs threshold 1.5% (baseline 0.5%) — a critical gate fails on its first failed measurement (failure_limit 3 does not apply); "+
		"critical gate error-rate failed at 2m0s of 10m0s and ended the window", rep.Reason)
}

func TestCriticalAlertEndsTheWindowAtOnce(t *testing.T) {
	prom := promtest.NewServer(t)
	var n atomic.Int64
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { n.Add(1) }))
	defer app.Close()
	checker, err := health.New(health.Config{BaseURL: app.URL, Checks: []health.CheckConfig{{Name: "home", HTTP: "/"}}}, health.Options{})
	require.NoError(t, err)

	clock := shipprodtest.NewClock(start)
	firingFrom := start.Add(5 * time.Minute)
	prom.SetNow(clock.Now)
	alerts := []prometheus.Alert{
		{Labels: map[string]string{"alertname": "DiskFilling", "severity": "warning"}, State: "firing", ActiveAt: start},
		{Labels: map[string]string{"alertname": "HighErrorRate", "severity": "critical", "job": "web"}, State: "pending", ActiveAt: start},
	}
	prom.SetAlerts(alerts...)
	m, err := monitor.New(monitor.Config{
		Window: 30 * time.Minute, Interval: time.Minute,
		Prometheus: monitor.PrometheusConfig{URL: prom.URL},
		Gates: []monitor.GateConfig{
			{Name: "smoke", Health: &monitor.HealthGate{}},
			{Name: "critical-alerts", Alerts: &monitor.AlertsGate{}, Critical: true},
		},
	}, monitor.Options{Clock: clock, Health: checker, OnMeasurement: func(monitor.Measurement) {
		if !clock.Now().Before(firingFrom) {
			alerts[1].State = "firing"
			prom.SetAlerts(alerts...)
		}
	}})
	require.NoError(t, err)
	rep, err := m.Watch(context.Background(), rel, dep, shipprod.MonitorBaseline{})
	require.NoError(t, err)

	assert.Equal(t, shipprod.VerdictFailed, rep.Verdict)
	// The alert became firing after the 5m measurement; the 6m one saw it.
	assert.Equal(t, start.Add(6*time.Minute), rep.FinishedAt)
	assert.Equal(t, `gate critical-alerts failed: value 1 vs threshold 0 (firing: HighErrorRate{alertname="HighErrorRate",job="web",severity="critical"} (firing)); critical gate critical-alerts failed at 6m0s of 30m0s and ended the window`, rep.Reason)
	assert.Equal(t, shipprod.VerdictPassed, rep.Gates[0].Verdict, "the health gate was fine while it ran")
	assert.Equal(t, 7, rep.Gates[0].Measurements)
	assert.Equal(t, int64(7), n.Load())
	assert.Equal(t, 7, rep.Gates[1].Measurements)
}

func TestMetricsOutageIsAnErrorNotAFailure(t *testing.T) {
	prom := promtest.NewServer(t)
	prom.Set(errorRateQ, promtest.Vector(0.005), // baseline
		promtest.Vector(0.006),
		promtest.Fail(prometheus.ErrTimeout, "query timed out in expression evaluation"))
	rep, _ := watch(t, monitor.Config{
		Window: 30 * time.Minute, Interval: time.Minute,
		Prometheus: monitor.PrometheusConfig{URL: prom.URL},
		Gates:      []monitor.GateConfig{errorRateGate()},
	}, monitor.Options{})
	assert.Equal(t, shipprod.VerdictError, rep.Verdict)
	assert.NotEqual(t, shipprod.VerdictFailed, rep.Verdict)
	g := rep.Gates[0]
	assert.Equal(t, 0, g.Failures)
	assert.Equal(t, 30, g.Errors)
	assert.Equal(t, 31, g.Measurements, "errors do not end the window: the gate goes on measuring")
	assert.Equal(t, "gate error-rate error: 31 measurements: 1 passed, 0 failed, 0 inconclusive, 30 errors — 30 errors in a row, more than consecutive_error_limit 4; last: prometheus /api/v1/query: timeout (HTTP 503): query timed out in expression evaluation; the metrics source failed; production was not judged unhealthy", rep.Reason)
	assert.Equal(t, start.Add(30*time.Minute), rep.FinishedAt)
}

// One measurement without data right after the deploy must not end the
// window: the error-rate rise that follows is what the window is for.
func TestNoDataAtTheStartDoesNotEndTheWindow(t *testing.T) {
	prom := promtest.NewServer(t)
	prom.Set(errorRateQ, promtest.Vector(0.005), // baseline
		promtest.Empty(), promtest.Vector(0.006), promtest.Vector(0.09))
	gate := errorRateGate()
	gate.Critical = true
	rep, _ := watch(t, monitor.Config{Window: 15 * time.Minute, Interval: time.Minute,
		Prometheus: monitor.PrometheusConfig{URL: prom.URL}, Gates: []monitor.GateConfig{gate}}, monitor.Options{})
	assert.Equal(t, shipprod.VerdictFailed, rep.Verdict, rep.Reason)
	assert.Equal(t, 3, rep.Gates[0].Measurements)
	assert.Equal(t, 1, rep.Gates[0].Inconclusive)
	assert.Contains(t, rep.Reason, "value 9% vs threshold")
	assert.Equal(t, start.Add(2*time.Minute), rep.FinishedAt, "the failure ends the window")
}

func TestErrorsInARowResetOnSuccess(t *testing.T) {
	prom := promtest.NewServer(t)
	down := promtest.Raw(http.StatusBadGateway, "<html>502 Bad Gateway</html>")
	ok := promtest.Vector(0.005)
	prom.Set(errorRateQ, ok, down, down, down, down, ok, down, down, down, down, ok)
	rep, _ := watch(t, monitor.Config{Window: 10 * time.Minute, Prometheus: monitor.PrometheusConfig{URL: prom.URL}, Gates: []monitor.GateConfig{errorRateGate()}}, monitor.Options{})
	assert.Equal(t, shipprod.VerdictPassed, rep.Verdict, rep.Reason)
	assert.Equal(t, 8, rep.Gates[0].Errors)
	assert.Equal(t, 11, rep.Gates[0].Measurements)
	assert.Contains(t, rep.Gates[0].Message, "11 measurements: 3 passed, 0 failed, 0 inconclusive, 8 errors")
}

func TestNoData(t *testing.T) {
	tests := []struct {
		name    string
		gate    func(g *monitor.GateConfig)
		script  []promtest.Response
		traffic []promtest.Response
		verdict shipprod.Verdict
		reason  string
		count   int
	}{
		{name: "empty vector is inconclusive by default", script: []promtest.Response{promtest.Vector(0.005), promtest.Empty()},
			verdict: shipprod.VerdictInconclusive, count: 6,
			reason: "gate error-rate inconclusive: 6 measurements: 0 passed, 0 failed, 6 inconclusive, 0 errors — more inconclusive than inconclusive_limit 0; last: no data: the query returned an empty vector (no_data: inconclusive)"},
		{name: "NaN is no data", script: []promtest.Response{promtest.Vector(0.005), promtest.NaN()},
			verdict: shipprod.VerdictInconclusive, count: 6, reason: "no data: the query returned NaN (0/0: no traffic?)"},
		{name: "inconclusive limit", gate: func(g *monitor.GateConfig) { g.InconclusiveLimit = 3 },
			script: []promtest.Response{promtest.Vector(0.005), promtest.Empty()}, verdict: shipprod.VerdictInconclusive, count: 6, reason: "6 inconclusive, 0 errors — more inconclusive than inconclusive_limit 3"},
		{name: "policy pass", gate: func(g *monitor.GateConfig) { g.NoData = monitor.NoDataPass },
			script: []promtest.Response{promtest.Vector(0.005), promtest.Empty()}, verdict: shipprod.VerdictPassed, count: 6, reason: "all 1 gates passed"},
		{name: "policy fail", gate: func(g *monitor.GateConfig) { g.NoData = monitor.NoDataFail },
			script: []promtest.Response{promtest.Vector(0.005), promtest.Empty()}, verdict: shipprod.VerdictFailed, count: 1,
			reason: "gate error-rate failed: no data: the query returned an empty vector (no_data: fail)"},
		{name: "policy error", gate: func(g *monitor.GateConfig) { g.NoData = monitor.NoDataError },
			script: []promtest.Response{promtest.Vector(0.005), promtest.Empty()}, verdict: shipprod.VerdictError, count: 6, reason: "no measurement succeeded in the window (6 errors)"},
		{name: "no traffic", gate: func(g *monitor.GateConfig) { g.TrafficQuery, g.MinTraffic = trafficQ, 100 },
			script: []promtest.Response{promtest.Vector(0.005), promtest.Vector(0.9)}, traffic: []promtest.Response{promtest.Vector(3)},
			verdict: shipprod.VerdictInconclusive, count: 6, reason: "no traffic: traffic_query returned 3, under min_traffic 100 (no_data: inconclusive)"},
		{name: "enough traffic", gate: func(g *monitor.GateConfig) { g.TrafficQuery, g.MinTraffic = trafficQ, 100 },
			script: []promtest.Response{promtest.Vector(0.005), promtest.Vector(0.9)}, traffic: []promtest.Response{promtest.Vector(5000)},
			verdict: shipprod.VerdictFailed, count: 1, reason: "value 90% vs threshold 1.5% (baseline 0.5%)"},
		{name: "no data at baseline", script: []promtest.Response{promtest.Empty(), promtest.Vector(0.005)},
			verdict: shipprod.VerdictInconclusive, count: 6, reason: "no baseline: no data: the query returned an empty vector (no_data: inconclusive)"},
		{name: "baseline failed", script: []promtest.Response{promtest.Fail(prometheus.ErrInternal, "storage down"), promtest.Vector(0.005)},
			verdict: shipprod.VerdictError, count: 6, reason: "last: no baseline: prometheus /api/v1/query: internal (HTTP 500): storage down"},
		{name: "several series", script: []promtest.Response{promtest.Vector(0.005), promtest.Vector(0.1, 0.2)},
			verdict: shipprod.VerdictError, count: 6, reason: "the query returned 2 series; aggregate them into one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prom := promtest.NewServer(t)
			prom.Set(errorRateQ, tt.script...)
			if tt.traffic != nil {
				prom.Set(trafficQ, tt.traffic...)
			}
			gate := errorRateGate()
			if tt.gate != nil {
				tt.gate(&gate)
			}
			rep, _ := watch(t, monitor.Config{Window: 5 * time.Minute, Prometheus: monitor.PrometheusConfig{URL: prom.URL}, Gates: []monitor.GateConfig{gate}}, monitor.Options{})
			assert.Equal(t, tt.verdict, rep.Verdict, rep.Reason)
			assert.Contains(t, rep.Reason, tt.reason)
			assert.Equal(t, tt.count, rep.Gates[0].Measurements)
		})
	}
}

func TestComparisons(t *testing.T) {
	tests := []struct {
		name     string
		gate     monitor.GateConfig
		baseline promtest.Response
		value    promtest.Response
		ok       bool
		message  string
	}{
		{"ratio within", monitor.GateConfig{Compare: monitor.CompareRatio, MaxRatio: ptr(1.10), Unit: "seconds"},
			promtest.Vector(0.25), promtest.Vector(0.27), true, "value 270ms vs threshold 275ms (baseline 250ms)"},
		{"ratio over", monitor.GateConfig{Compare: monitor.CompareRatio, MaxRatio: ptr(1.10), Unit: "seconds"},
			promtest.Vector(0.25), promtest.Vector(0.3), false, "value 300ms vs threshold 275ms (baseline 250ms)"},
		{"ratio ignores small changes near zero", monitor.GateConfig{Compare: monitor.CompareRatio, MaxRatio: ptr(1.10), MinDelta: 0.005, Unit: "seconds"},
			promtest.Vector(0.001), promtest.Vector(0.004), true, "value 4ms vs threshold 6ms (baseline 1ms)"},
		{"ratio lower is worse", monitor.GateConfig{Compare: monitor.CompareRatio, MaxRatio: ptr(2.0), Worse: "lower"},
			promtest.Vector(1000), promtest.Vector(400), false, "value 400 vs threshold 500 (baseline 1000)"},
		{"increase in percentage points", monitor.GateConfig{Compare: monitor.CompareIncrease, MaxIncrease: ptr(1.0), Unit: "percent"},
			promtest.Vector(99.5), promtest.Vector(99.9), true, "value 99.9% vs threshold 100.5% (baseline 99.5%)"},
		{"increase lower is worse", monitor.GateConfig{Compare: monitor.CompareIncrease, MaxIncrease: ptr(1.0), Unit: "percent", Worse: "lower"},
			promtest.Vector(99.5), promtest.Vector(97), false, "value 97% vs threshold 98.5% (baseline 99.5%)"},
		{"threshold max", monitor.GateConfig{Compare: monitor.CompareThreshold, Max: ptr(0.5), Unit: "ms"},
			promtest.Empty(), promtest.Scalar(0.2), true, "value 200µs vs threshold 500µs"},
		{"threshold min", monitor.GateConfig{Compare: monitor.CompareThreshold, Min: ptr(99.0), Unit: "percent"},
			promtest.Empty(), promtest.Vector(98.2), false, "value 98.2% vs threshold 99% (minimum)"},
		{"+Inf latency fails", monitor.GateConfig{Compare: monitor.CompareRatio, MaxRatio: ptr(1.1), Unit: "seconds"},
			promtest.Vector(0.25), promtest.Vector(posInf()), false, "value +Inf vs threshold 275ms (baseline 250ms)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prom := promtest.NewServer(t)
			if tt.gate.Compare == monitor.CompareThreshold {
				prom.Set(p95Q, tt.value) // no baseline is measured
			} else {
				prom.Set(p95Q, tt.baseline, tt.value)
			}
			tt.gate.Name, tt.gate.Query = "latency", p95Q
			rep, _ := watch(t, monitor.Config{Window: time.Minute, Interval: time.Minute, Prometheus: monitor.PrometheusConfig{URL: prom.URL},
				Gates: []monitor.GateConfig{tt.gate}}, monitor.Options{})
			kept := rep.Measurements["latency"]
			require.NotEmpty(t, kept)
			if tt.ok {
				assert.Equal(t, shipprod.VerdictPassed, rep.Verdict, rep.Reason)
			} else {
				assert.Equal(t, shipprod.VerdictFailed, rep.Verdict)
				assert.Equal(t, "gate latency failed: "+tt.message+"; gate latency failed at 0s of 1m0s and ended the window", rep.Reason)
			}
			assert.Equal(t, tt.message, kept[0].Message)
		})
	}
}

func posInf() float64 { v := 1.0; return v / zero() }
func zero() float64   { return 0 }

func TestDryRunGateWouldHaveRolledBack(t *testing.T) {
	prom := promtest.NewServer(t)
	prom.Set(errorRateQ, promtest.Vector(0.005), promtest.Vector(0.2))
	prom.Set(p95Q, promtest.Vector(0.1))
	dry := errorRateGate()
	dry.DryRun = true
	rep, clock := watch(t, monitor.Config{
		Window: 10 * time.Minute, Interval: time.Minute,
		Prometheus: monitor.PrometheusConfig{URL: prom.URL},
		Gates: []monitor.GateConfig{dry,
			{Name: "p95", Query: p95Q, Compare: monitor.CompareThreshold, Max: ptr(0.5), Unit: "seconds"}},
	}, monitor.Options{})
	assert.Equal(t, shipprod.VerdictPassed, rep.Verdict)
	assert.Equal(t, start.Add(10*time.Minute), clock.Now(), "a dry-run critical gate does not end the window")
	assert.Equal(t, "all 1 gates passed over 10m0s; dry run: gate error-rate failed: value 20% vs threshold 1.5% (baseline 0.5%) (would have rolled back)", rep.Reason)
	assert.True(t, rep.Gates[0].DryRun)
	assert.Equal(t, shipprod.VerdictFailed, rep.Gates[0].Verdict)

	// The whole monitor in dry-run, with the freeze policy.
	prom = promtest.NewServer(t)
	prom.Set(errorRateQ, promtest.Vector(0.005), promtest.Vector(0.2))
	rep, _ = watch(t, monitor.Config{DryRun: true, Window: 2 * time.Minute,
		Prometheus: monitor.PrometheusConfig{URL: prom.URL}, Gates: []monitor.GateConfig{errorRateGate()}}, monitor.Options{Policy: shipprod.PolicyFreeze})
	assert.Equal(t, shipprod.VerdictPassed, rep.Verdict)
	assert.Contains(t, rep.Reason, "every gate is dry-run: nothing can fail the window; dry run: gate error-rate failed:")
	assert.Contains(t, rep.Reason, "(would have frozen the release)")
}

func TestHealthGate(t *testing.T) {
	clock := shipprodtest.NewClock(start)
	brokenFrom := start.Add(3 * time.Minute)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api" && !clock.Now().Before(brokenFrom) {
			http.Error(w, "db down", http.StatusServiceUnavailable)
		}
	}))
	defer app.Close()
	checker, err := health.New(health.Config{Checks: []health.CheckConfig{
		{Name: "home", HTTP: "/"}, {Name: "api", HTTP: "/api"}, {Name: "other", HTTP: "/other"},
	}}, health.Options{Clock: clock})
	require.NoError(t, err)
	m, err := monitor.New(monitor.Config{Window: 10 * time.Minute, Gates: []monitor.GateConfig{
		{Name: "smoke", Health: &monitor.HealthGate{Checks: []string{"home", "api"}, MaxFailureRate: 0.25}, Critical: true},
	}}, monitor.Options{Clock: clock, Health: checker})
	require.NoError(t, err)
	rep, err := m.Watch(context.Background(), rel, shipprod.Deployment{URL: app.URL}, shipprod.MonitorBaseline{})
	require.NoError(t, err)
	assert.Equal(t, shipprod.VerdictFailed, rep.Verdict)
	assert.Equal(t, "gate smoke failed: value 50% vs threshold 25% (1 of 2 checks failed: api: status 503 Service Unavailable, want 200); critical gate smoke failed at 3m0s of 10m0s and ended the window", rep.Reason)
	assert.Equal(t, 4, rep.Gates[0].Measurements)

	_, err = monitor.New(monitor.Config{Gates: []monitor.GateConfig{{Name: "smoke", Health: &monitor.HealthGate{Checks: []string{"nope"}}}}},
		monitor.Options{Health: checker})
	assert.ErrorContains(t, err, `monitor.gates[0] (smoke): health.checks: no health check is named "nope" (known: home, api, other)`)
}

func TestBaseline(t *testing.T) {
	prom := promtest.NewServer(t)
	prom.Set(errorRateQ, promtest.Vector(0.004))
	prom.Set(p95Q, promtest.Fail(prometheus.ErrExecution, "expanding series: too many samples"))
	prom.Set("offset_query", promtest.Vector(0.3))
	clock := shipprodtest.NewClock(start)
	m, err := monitor.New(monitor.Config{Prometheus: monitor.PrometheusConfig{URL: prom.URL}, Gates: []monitor.GateConfig{
		errorRateGate(),
		{Name: "p95", Query: p95Q, Compare: monitor.CompareRatio, MaxRatio: ptr(1.1)},
		{Name: "p99", Query: "p99_query", BaselineQuery: "offset_query", Compare: monitor.CompareRatio, MaxRatio: ptr(1.1)},
		{Name: "no-traffic", Query: trafficQ, Compare: monitor.CompareIncrease, MaxIncrease: ptr(1.0)},
		{Name: "fixed", Query: "fixed_query", Compare: monitor.CompareThreshold, Max: ptr(1.0)},
	}}, monitor.Options{Clock: clock})
	require.NoError(t, err)
	base, err := m.Baseline(context.Background(), rel)
	require.Error(t, err)
	assert.Equal(t, "gate p95: prometheus /api/v1/query: execution (HTTP 422): expanding series: too many samples; gate no-traffic: no data: the query returned an empty vector", err.Error())
	assert.Equal(t, start, base.CapturedAt)
	assert.Equal(t, map[string]float64{"error-rate": 0.004, "p99": 0.3}, base.Values)
	assert.Equal(t, map[string]string{
		"p95":        "prometheus /api/v1/query: execution (HTTP 422): expanding series: too many samples",
		"no-traffic": "no data: the query returned an empty vector",
	}, base.Errors)
	assert.Zero(t, prom.Count("fixed_query"), "threshold gates need no baseline")
	_, err = json.Marshal(base)
	require.NoError(t, err)
}

func TestConfigErrors(t *testing.T) {
	_, err := monitor.New(monitor.Config{
		Window: 5 * time.Minute, InitialDelay: 6 * time.Minute,
		Prometheus: monitor.PrometheusConfig{URL: "http://127.0.0.1:9090"},
		Gates: []monitor.GateConfig{
			{Query: "up", Compare: monitor.CompareThreshold, Max: ptr(1.0)},
			{Name: "both", Query: "up", Alerts: &monitor.AlertsGate{}},
			{Name: "none"},
			{Name: "no-compare", Query: "up"},
			{Name: "ratio", Query: "up", Compare: monitor.CompareRatio, MaxRatio: ptr(0.9), Max: ptr(1.0)},
			{Name: "bad-policy", Query: "up", Compare: monitor.CompareThreshold, Max: ptr(1.0), NoData: "ignore", Unit: "furlongs"},
			{Name: "health-no-checker", Health: &monitor.HealthGate{}, Unit: "ratio"},
			{Name: "dup", Query: "up", Compare: monitor.CompareIncrease, MaxIncrease: ptr(1.0)},
			{Name: "dup", Query: "up", Compare: monitor.CompareIncrease, MaxIncrease: ptr(1.0)},
			{Name: "limits", Query: "up", Compare: monitor.CompareThreshold, Max: ptr(1.0), ConsecutiveErrorLimit: ptr(-1)},
		},
	}, monitor.Options{})
	require.Error(t, err)
	for _, want := range []string{
		"problems in the monitor configuration:",
		"monitor.initial_delay 6m0s leaves nothing of the 5m0s window to measure",
		"monitor.gates[0]: name is missing; every gate needs a name for the report",
		"monitor.gates[1] (both): sets query and alerts; a gate measures one thing",
		"monitor.gates[2] (none): no kind: set one of health, query or alerts",
		"monitor.gates[3] (no-compare): compare is required for a query gate: threshold (max/min), increase (max_increase over the baseline), ratio (max_ratio over the baseline) or canary (the canary against the baseline deployment, during a rollout)",
		"compare: ratio needs max_ratio >= 1 (e.g. 1.10 for at most 10% worse); max does not apply to compare: ratio",
		`no_data "ignore" is not inconclusive, pass, fail or error; unit "furlongs" is not ratio, percent, seconds or ms`,
		"monitor.gates[6] (health-no-checker): unit: only for query gates, not health; a health gate needs the health checks (monitor.Options.Health)",
		`monitor.gates[8] (dup): name "dup" is used by another gate`,
		"monitor.gates[9] (limits): failure_limit, inconclusive_limit and consecutive_error_limit must not be negative",
	} {
		assert.Contains(t, err.Error(), want)
	}
	_, err = monitor.New(monitor.Config{}, monitor.Options{})
	assert.EqualError(t, err, "monitor.gates is empty: give at least one gate (health, query or alerts)")
	_, err = monitor.New(monitor.Config{Gates: []monitor.GateConfig{errorRateGate()}}, monitor.Options{})
	assert.EqualError(t, err, "monitor.gates[0] (error-rate): a query gate needs monitor.prometheus.url")
	_, err = monitor.New(monitor.Config{Prometheus: monitor.PrometheusConfig{URL: "prometheus:9090"}, Gates: []monitor.GateConfig{errorRateGate()}}, monitor.Options{})
	assert.ErrorContains(t, err, `monitor.prometheus: url "prometheus:9090" must be an http or https URL`)
}

func TestWatchInterrupted(t *testing.T) {
	prom := promtest.NewServer(t)
	prom.Set(errorRateQ, promtest.Vector(0.005))
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	m, err := monitor.New(monitor.Config{Prometheus: monitor.PrometheusConfig{URL: prom.URL}, Gates: []monitor.GateConfig{errorRateGate()}},
		monitor.Options{Clock: shipprodtest.NewClock(start), OnMeasurement: func(monitor.Measurement) {
			if n++; n == 3 {
				cancel()
			}
		}})
	require.NoError(t, err)
	base, err := m.Baseline(context.Background(), rel)
	require.NoError(t, err)
	rep, err := m.Watch(ctx, rel, dep, base)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, "monitor interrupted after 2m0s of 15m0s: context canceled", err.Error())
	assert.Equal(t, shipprod.VerdictInconclusive, rep.Verdict)
	assert.Equal(t, 3, rep.Gates[0].Measurements)
}

func TestPlanActions(t *testing.T) {
	prom := promtest.NewServer(t)
	checker, err := health.New(health.Config{Checks: []health.CheckConfig{{Name: "home", HTTP: "/"}}}, health.Options{})
	require.NoError(t, err)
	m, err := monitor.New(monitor.Config{
		Window: 30 * time.Minute, InitialDelay: 2 * time.Minute,
		Prometheus: monitor.PrometheusConfig{URL: prom.URL},
		Gates: []monitor.GateConfig{
			errorRateGate(),
			{Name: "p95", Query: p95Q, Compare: monitor.CompareRatio, MaxRatio: ptr(1.1), DryRun: true},
			{Name: "alerts", Alerts: &monitor.AlertsGate{}, Critical: true},
			{Name: "smoke", Health: &monitor.HealthGate{}},
		},
	}, monitor.Options{Health: checker, Policy: shipprod.PolicyFreeze})
	require.NoError(t, err)
	acts, err := m.PlanActions(context.Background(), rel)
	require.NoError(t, err)
	require.Len(t, acts, 1)
	assert.Equal(t, shipprod.ActionWatch, acts[0].Kind)
	assert.Equal(t, prom.URL, acts[0].Target)
	assert.Equal(t, `watch production for 30m0s (every 1m0s after 2m0s) with gates: error-rate (at most +1 percentage points vs baseline) [critical]; `+
		`p95 (at most ×1.1 vs baseline) [dry run]; alerts (at most 0 firing alerts {severity="critical"}) [critical]; `+
		`smoke (health checks home failing at most 0%); on failure: freeze`, acts[0].Description)
	assert.Equal(t, "monitor (4 gates over 30m0s)", m.String())
	assert.Empty(t, prom.Requests(), "planning queries nothing")
}

func TestPrometheusAuthAndSecrets(t *testing.T) {
	const token = "prom-token-5ecret"
	var auth atomic.Value
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		// A proxy that repeats the credentials it refuses.
		http.Error(w, "forbidden for "+r.Header.Get("Authorization"), http.StatusUnauthorized)
	}))
	defer proxy.Close()
	env := map[string]string{"PROM_TOKEN": token}
	rep, _ := watch(t, monitor.Config{Window: 5 * time.Minute,
		Prometheus: monitor.PrometheusConfig{URL: proxy.URL, BearerTokenEnv: "PROM_TOKEN"},
		Gates:      []monitor.GateConfig{errorRateGate()},
	}, monitor.Options{Getenv: func(k string) string { return env[k] }})
	assert.Equal(t, "Bearer "+token, auth.Load())
	assert.Equal(t, shipprod.VerdictError, rep.Verdict)
	b, err := json.Marshal(rep)
	require.NoError(t, err)
	assert.NotContains(t, string(b), token)
	assert.Contains(t, string(b), "forbidden for Bearer ***")

	_, err = monitor.New(monitor.Config{Prometheus: monitor.PrometheusConfig{URL: proxy.URL, BearerTokenEnv: "UNSET"}, Gates: []monitor.GateConfig{errorRateGate()}},
		monitor.Options{Getenv: func(string) string { return "" }})
	assert.ErrorContains(t, err, "monitor.prometheus: bearer_token_env: environment variable UNSET is empty or unset")
}

// Credentials in prometheus.url would be copied wherever the URL goes — the
// plan, the report, errors, logs — and sit in shipprod.yaml: the URL is
// refused, with an error that says what to use instead and repeats no part
// of the user info.
func TestPrometheusURLWithCredentialsIsRefused(t *testing.T) {
	const secret = "S3cr3t-pr0m"
	prom := promtest.NewServer(t)
	host := strings.TrimPrefix(prom.URL, "http://")
	for _, tt := range []struct {
		name, url string
		shown     string // how the error shows the URL
	}{
		{"user and password", "http://admin:" + secret + "@" + host, "http://***@" + host},
		{"escaped password", "https://admin:" + secret + "%40x@" + host + "/prom", "https://***@" + host + "/prom"},
		{"token as user", "http://" + secret + "@" + host, "http://***@" + host},
		{"password with a slash", "http://admin:" + secret + "/x@" + host, "http://***@" + host},
		{"no scheme", "admin:" + secret + "@" + host, "***@" + host},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, metrics := range []monitor.Metrics{nil, &prometheus.Client{URL: prom.URL}} {
				var logs bytes.Buffer
				logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				m, err := monitor.New(monitor.Config{
					Prometheus: monitor.PrometheusConfig{URL: tt.url},
					Gates:      []monitor.GateConfig{errorRateGate(), {Name: "alerts", Alerts: &monitor.AlertsGate{}}},
				}, monitor.Options{Logger: logger, Metrics: metrics})
				require.Error(t, err, "the URL is refused, also when Options.Metrics replaces the client")
				assert.Nil(t, m)
				assert.Equal(t, "monitor.prometheus.url "+strconv.Quote(tt.shown)+" holds credentials (user info before @): "+
					"set username and password_env (the name of the environment variable holding the password) or bearer_token_env instead", err.Error(),
					"one problem, not a list with the gates complaining that there is no URL")
				assert.NotContains(t, err.Error()+logs.String(), secret)
				assert.NotContains(t, err.Error(), "admin")
			}
		})
	}
	assert.Empty(t, prom.Requests(), "nothing was sent with the credentials")
}

// Basic authentication the supported way: the password, read from the
// environment, reaches Prometheus and nothing else — not the plan, the
// baseline, the report, the verdict or the debug logs — even when a proxy
// repeats the credentials it was sent.
func TestPrometheusBasicAuthNeverLeaks(t *testing.T) {
	const password = "b4sic-Pa55"
	var users atomic.Value
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		users.Store(user + ":" + pass)
		http.Error(w, fmt.Sprintf("denied %q (%s:%s)", r.Header.Get("Authorization"), user, pass), http.StatusUnauthorized)
	}))
	defer proxy.Close()
	var logs bytes.Buffer
	clock := shipprodtest.NewClock(start)
	m, err := monitor.New(monitor.Config{Window: 3 * time.Minute,
		Prometheus: monitor.PrometheusConfig{URL: proxy.URL, Username: "admin", PasswordEnv: "PROM_PASSWORD"},
		Gates:      []monitor.GateConfig{errorRateGate(), {Name: "alerts", Alerts: &monitor.AlertsGate{}}},
	}, monitor.Options{Clock: clock, Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Getenv: func(k string) string { return map[string]string{"PROM_PASSWORD": password}[k] }})
	require.NoError(t, err)
	plan, err := m.PlanActions(context.Background(), rel)
	require.NoError(t, err)
	base, berr := m.Baseline(context.Background(), rel)
	require.Error(t, berr)
	rep, err := m.WatchReport(context.Background(), rel, dep, base)
	require.NoError(t, err)
	assert.Equal(t, "admin:"+password, users.Load(), "the credentials reached the server")
	assert.Equal(t, shipprod.VerdictError, rep.Verdict)

	planJSON, _ := json.Marshal(plan)
	repJSON, _ := json.Marshal(rep)
	everything := string(planJSON) + string(repJSON) + berr.Error() + (&shipprod.MonitorError{Report: rep.MonitorReport}).Error() + logs.String()
	require.Contains(t, logs.String(), "monitor measurement", "the debug logs were captured")
	assert.Contains(t, everything, "denied", "the proxy's answer is reported")
	for _, leak := range []string{password, base64.StdEncoding.EncodeToString([]byte("admin:" + password))} {
		assert.NotContains(t, everything, leak)
	}
	assert.Contains(t, rep.Reason, `Unauthorized: "denied \"Basic ***\" (admin:***)"`, "masked, not dropped")
}

func TestMeasurementsCallbackSeesEveryGate(t *testing.T) {
	prom := promtest.NewServer(t)
	prom.Set(errorRateQ, promtest.Vector(0.005))
	var byGate = map[string]int{}
	watch(t, monitor.Config{Window: 3 * time.Minute, Prometheus: monitor.PrometheusConfig{URL: prom.URL}, Gates: []monitor.GateConfig{
		errorRateGate(), {Name: "alerts", Alerts: &monitor.AlertsGate{}},
	}}, monitor.Options{OnMeasurement: func(m monitor.Measurement) { byGate[m.Gate]++ }})
	assert.Equal(t, map[string]int{"error-rate": 4, "alerts": 4}, byGate)
}
