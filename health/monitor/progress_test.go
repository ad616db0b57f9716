package monitor_test

import (
	"context"
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

// Each measurement is told as the monitor step's progress, with the time
// passed and left, so that a 15-minute window is not 15 silent minutes.
func TestMeasurementsAreToldAsProgress(t *testing.T) {
	clock := shipprodtest.NewClock(start)
	prom := promtest.NewServer(t)
	prom.Set(errorRateQ, promtest.Vector(0.004), promtest.Vector(0.005))
	mon, err := monitor.New(monitor.Config{Window: 3 * time.Minute, Interval: time.Minute, DashboardURL: "https://grafana.example.com/d/web",
		Prometheus: monitor.PrometheusConfig{URL: prom.URL}, Gates: []monitor.GateConfig{errorRateGate()}}, monitor.Options{Clock: clock})
	require.NoError(t, err)
	rec := &shipprodtest.Recorder{}
	p := &shipprod.Pipeline{Release: rel, Deployer: newProduction(t, "2.6.3"), Monitor: mon, Clock: clock, Observer: rec}
	res, err := p.Run(context.Background())
	require.NoError(t, err)

	var lines []string
	for _, e := range rec.Events() {
		if e.Kind == shipprod.EventProgress && e.Step == shipprod.StepMonitor {
			lines = append(lines, e.Progress.Message+" @"+e.Progress.Elapsed.String()+"/"+e.Progress.Remaining.String())
		}
	}
	require.Len(t, lines, 4)
	assert.True(t, strings.HasPrefix(lines[0], "error-rate: value 0.5% vs threshold"), lines[0])
	assert.True(t, strings.HasSuffix(lines[1], "@1m0s/2m0s"), lines[1])

	require.NotNil(t, res.MonitorPlan, "the plan of the window is in the result, for the report")
	assert.Equal(t, 3*time.Minute, res.MonitorPlan.Window)
	assert.Equal(t, "https://grafana.example.com/d/web", res.MonitorPlan.DashboardURL)
	require.Len(t, res.MonitorPlan.Gates, 1)
	assert.Equal(t, errorRateQ, res.MonitorPlan.Gates[0].Query)
	assert.Equal(t, "at most +1 percentage points vs baseline", res.MonitorPlan.Gates[0].Condition)
}

func TestDashboardURLIsChecked(t *testing.T) {
	for url, want := range map[string]string{
		"grafana/d/web":                      `monitor.dashboard_url "grafana/d/web" is not an absolute http(s) URL`,
		"https://admin:s3cret@grafana/d/web": "monitor.dashboard_url must not carry credentials",
	} {
		_, err := monitor.New(monitor.Config{DashboardURL: url, Prometheus: monitor.PrometheusConfig{URL: "http://127.0.0.1:9090"},
			Gates: []monitor.GateConfig{errorRateGate()}}, monitor.Options{})
		require.Error(t, err)
		assert.Contains(t, err.Error(), want)
		assert.NotContains(t, err.Error(), "s3cret")
	}
}
