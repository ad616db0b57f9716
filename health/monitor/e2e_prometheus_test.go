package monitor_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health/internal/servicetest"
	"github.com/shipprod/shipprod/health/internal/testexporter"
	"github.com/shipprod/shipprod/health/monitor"
	"github.com/shipprod/shipprod/health/prometheus"
	"github.com/shipprod/shipprod/shipprodtest"
)

// eventually polls cond every 100 ms until it holds or the deadline passes:
// a real Prometheus needs a few scrapes (250 ms apart) to see a change.
func eventually(t *testing.T, what string, within time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(within)
	var last string
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s (last seen: %s)", what, within, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestEndToEndRealPrometheus drives the monitor against a real Prometheus
// scraping an exporter written with client_golang: a healthy window passes;
// after a bad deploy (errors and latency up) the window fails against the
// baseline captured before it; a firing critical alert fails it too.
func TestEndToEndRealPrometheus(t *testing.T) {
	v := servicetest.Require(t, "a Prometheus server scraping the test exporter", "SHIPPROD_TEST_PROMETHEUS_URL", "SHIPPROD_TEST_EXPORTER_ADDR")
	promURL, exporterAddr := v[0], v[1]
	run := fmt.Sprintf("e2e-%d", time.Now().UnixNano())
	exp, err := testexporter.Start(exporterAddr, run)
	require.NoError(t, err)
	defer exp.Close()

	errQ := fmt.Sprintf(`sum(rate(shipprod_test_http_requests_total{run=%q,code=~"5.."}[2s])) / sum(rate(shipprod_test_http_requests_total{run=%q}[2s]))`, run, run)
	p95Q := fmt.Sprintf(`histogram_quantile(0.95, sum by (le) (rate(shipprod_test_http_request_duration_seconds_bucket{run=%q}[2s])))`, run)
	trafficQ := fmt.Sprintf(`sum(rate(shipprod_test_http_requests_total{run=%q}[2s]))`, run)
	client := &prometheus.Client{URL: promURL}
	value := func(q string) (float64, bool, string) {
		res, err := client.Query(context.Background(), q, time.Time{})
		if err != nil {
			return 0, false, err.Error()
		}
		if len(res.Samples) != 1 {
			return 0, false, fmt.Sprintf("%d samples", len(res.Samples))
		}
		return res.Samples[0].Value, true, fmt.Sprint(res.Samples[0].Value)
	}
	eventually(t, "Prometheus scrapes the exporter", 20*time.Second, func() (bool, string) {
		v, ok, state := value(p95Q)
		return ok && v > 0 && v < 0.05, state
	})

	clock := shipprodtest.NewClock(start)
	cfg := monitor.Config{
		Window: 2 * time.Minute, Interval: 30 * time.Second,
		Prometheus: monitor.PrometheusConfig{URL: promURL, Timeout: 5 * time.Second},
		Gates: []monitor.GateConfig{
			{Name: "error-rate", Query: errQ, Compare: monitor.CompareIncrease, MaxIncrease: ptr(0.01), Unit: "ratio", Critical: true,
				TrafficQuery: trafficQ, MinTraffic: 10},
			{Name: "p95-latency", Query: p95Q, Compare: monitor.CompareRatio, MaxRatio: ptr(1.10), MinDelta: 0.005, Unit: "seconds"},
			{Name: "critical-alerts", Alerts: &monitor.AlertsGate{Labels: map[string]string{"severity": "critical", "run": run}}, Critical: true},
		},
	}
	m, err := monitor.New(cfg, monitor.Options{Clock: clock})
	require.NoError(t, err)

	// Before the deploy: no errors, ~20 ms.
	base, err := m.Baseline(context.Background(), rel)
	require.NoError(t, err)
	assert.Equal(t, 0.0, base.Values["error-rate"])
	assert.InDelta(t, 0.024, base.Values["p95-latency"], 0.002, "p95 of 20 ms observations in the 10-25 ms bucket")

	// A healthy window passes.
	rep, err := m.WatchReport(context.Background(), rel, dep, base)
	require.NoError(t, err)
	assert.Equal(t, shipprod.VerdictPassed, rep.Verdict, rep.Reason)
	assert.Equal(t, 5, rep.Gates[0].Measurements)

	// A bad deploy: half the requests fail and take 200 ms.
	exp.SetErrorShare(0.5)
	exp.SetLatency(200 * time.Millisecond)
	eventually(t, "Prometheus sees the errors", 20*time.Second, func() (bool, string) {
		v, ok, state := value(errQ)
		return ok && v > 0.4, state
	})
	rep, err = m.WatchReport(context.Background(), rel, dep, base)
	require.NoError(t, err)
	assert.Equal(t, shipprod.VerdictFailed, rep.Verdict)
	// Both gates fail at the first measurement; the critical one ends the window.
	assert.Regexp(t, `^gate error-rate failed: value \d+(\.\d+)?% vs threshold 1% \(baseline 0%\); `+
		`gate p95-latency failed: value \d+(\.\d+)?ms vs threshold \d+(\.\d+)?ms \(baseline \d+(\.\d+)?ms\); `+
		`critical gate error-rate failed at 0s of 2m0s and ended the window$`, rep.Reason)
	assert.Equal(t, shipprod.VerdictPassed, rep.Gates[2].Verdict, "no alert fired")
	p95 := rep.Measurements["p95-latency"][0]
	assert.Equal(t, shipprod.VerdictFailed, p95.Phase)
	assert.Greater(t, *p95.Value, 0.1)
	assert.InDelta(t, base.Values["p95-latency"], *p95.Baseline, 1e-9)

	// Back to healthy, but a critical alert fires.
	exp.SetErrorShare(0)
	exp.SetLatency(20 * time.Millisecond)
	exp.SetAlert(true)
	eventually(t, "the alert fires", 20*time.Second, func() (bool, string) {
		alerts, err := client.Alerts(context.Background())
		if err != nil {
			return false, err.Error()
		}
		for _, a := range alerts {
			if a.Labels["run"] == run && a.State == "firing" {
				return true, "firing"
			}
		}
		return false, fmt.Sprintf("%d alerts", len(alerts))
	})
	alertsOnly := cfg
	alertsOnly.Gates = cfg.Gates[2:]
	m2, err := monitor.New(alertsOnly, monitor.Options{Clock: clock})
	require.NoError(t, err)
	rep, err = m2.WatchReport(context.Background(), rel, dep, shipprod.MonitorBaseline{})
	require.NoError(t, err)
	assert.Equal(t, shipprod.VerdictFailed, rep.Verdict)
	assert.True(t, strings.HasPrefix(rep.Reason, "gate critical-alerts failed: value 1 vs threshold 0 (firing: ShipprodTestCritical{"), rep.Reason)
	exp.SetAlert(false)
}
