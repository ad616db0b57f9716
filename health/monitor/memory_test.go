package monitor_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health"
	"github.com/shipprod/shipprod/health/monitor"
	"github.com/shipprod/shipprod/health/prometheus"
	"github.com/shipprod/shipprod/health/prometheus/promtest"
	"github.com/shipprod/shipprod/shipprodtest"
)

// steadyMetrics is an in-process metrics source: every query answers the
// same value and two alerts are active, one of them firing but not critical.
type steadyMetrics struct{}

func (steadyMetrics) Query(ctx context.Context, q string, at time.Time) (prometheus.Result, error) {
	return prometheus.Result{Type: prometheus.ValueVector, Samples: []prometheus.Sample{{Metric: map[string]string{"job": "web"}, Time: at, Value: 0.004}}}, nil
}

func (steadyMetrics) Alerts(ctx context.Context) ([]prometheus.Alert, error) {
	return []prometheus.Alert{
		{Labels: map[string]string{"alertname": "DiskFilling", "severity": "warning"}, State: "firing"},
		{Labels: map[string]string{"alertname": "Slow", "severity": "critical"}, State: "pending"},
	}, nil
}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// watchLong runs a window at a 1 s interval with a health gate, a query
// gate and an alerts gate, and returns the heap (after GC) before the
// window, after its first hour and at its end, with the report still alive.
func watchLong(tb testing.TB, window time.Duration, metrics monitor.Metrics) (before, hour1, after uint64, rep monitor.Report) {
	clock := shipprodtest.NewClock(start)
	ok := health.ProbeFunc(func(context.Context, health.Target) (health.Observation, error) {
		return health.Observation{Message: "fine"}, nil
	})
	checker, err := health.New(health.Config{}, health.Options{Clock: clock, Checks: []health.Check{{Name: "a", Probe: ok}, {Name: "b", Probe: ok}}})
	require.NoError(tb, err)
	n := 0
	m, err := monitor.New(monitor.Config{
		Window: window, Interval: time.Second,
		Gates: []monitor.GateConfig{
			{Name: "smoke", Health: &monitor.HealthGate{}},
			errorRateGate(),
			{Name: "alerts", Alerts: &monitor.AlertsGate{}, Critical: true},
		},
	}, monitor.Options{Clock: clock, Health: checker, Metrics: metrics, OnMeasurement: func(monitor.Measurement) {
		if n++; n == 3*3600 {
			hour1 = heapAlloc()
		}
	}})
	require.NoError(tb, err)
	base, err := m.Baseline(context.Background(), rel)
	require.NoError(tb, err)
	before = heapAlloc()
	rep, err = m.WatchReport(context.Background(), rel, shipprod.Deployment{}, base)
	require.NoError(tb, err)
	after = heapAlloc()
	require.Equal(tb, shipprod.VerdictPassed, rep.Verdict, rep.Reason)
	require.Equal(tb, int(window/time.Second)+1, rep.Gates[0].Measurements)
	return before, hour1, after, rep
}

// A simulated 24-hour window at a 1 s interval (86,401 measurements of each
// of three gates) grows the heap by less than 1 MB: only counters and the
// last few measurements are kept.
func TestMemoryFlatOverADay(t *testing.T) {
	window := 24 * time.Hour
	if raceEnabled || testing.Short() {
		// The race detector makes each measurement ~10× slower; a 3-hour
		// window still shows whether memory grows with the window.
		window = 3 * time.Hour
	}
	started := time.Now()
	before, hour1, after, rep := watchLong(t, window, steadyMetrics{})
	growth := int64(after) - int64(before)
	sinceHour1 := int64(after) - int64(hour1)
	t.Logf("%s window, %d measurements per gate, in %s: heap %d B before, %d B after 1 h, %d B at the end: growth %+d B (%+d B since hour 1)",
		window, rep.Gates[0].Measurements, time.Since(started).Round(time.Millisecond), before, hour1, after, growth, sinceHour1)
	require.Less(t, growth, int64(1<<20), "heap grew by %d bytes over the window", growth)
	require.Less(t, sinceHour1, int64(256<<10), "heap keeps growing after the first hour: %d bytes", sinceHour1)
	require.Len(t, rep.Measurements["smoke"], monitor.DefaultKeepMeasurements)
}

// BenchmarkDayWindowHTTP runs the 24-hour window at a 1 s interval against
// the fake Prometheus over loopback HTTP (two requests per second of
// simulated time) and reports the heap growth.
//
//	go test -run '^$' -bench DayWindowHTTP -benchtime 1x ./health/monitor/
func BenchmarkDayWindowHTTP(b *testing.B) {
	prom := promtest.NewServer(b)
	prom.Set(errorRateQ, promtest.Vector(0.004))
	client := &prometheus.Client{URL: prom.URL}
	for b.Loop() {
		before, hour1, after, _ := watchLong(b, 24*time.Hour, client)
		growth := int64(after) - int64(before)
		b.ReportMetric(float64(growth), "heap-growth-B")
		b.ReportMetric(float64(int64(after)-int64(hour1)), "growth-since-1h-B")
		if growth >= 1<<20 {
			b.Errorf("heap grew by %d bytes over a day", growth)
		}
	}
}
