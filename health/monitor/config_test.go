package monitor_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health"
	"github.com/shipprod/shipprod/health/judge"
	"github.com/shipprod/shipprod/health/monitor"
	"github.com/shipprod/shipprod/internal/yamlstrict"
)

// The monitor section decodes strictly from the YAML the CLI reads, and
// builds.
func TestConfigYAML(t *testing.T) {
	src := `
window: 30m
interval: 1m
initial_delay: 2m
keep_measurements: 20
prometheus:
  url: http://prometheus:9090
  timeout: 5s
  bearer_token_env: PROM_TOKEN
gates:
  - name: error-rate
    query: sum(rate(http_requests_total{job="web",code=~"5.."}[5m])) / sum(rate(http_requests_total{job="web"}[5m]))
    compare: increase
    max_increase: 0.01
    unit: ratio
    critical: true
    traffic_query: sum(increase(http_requests_total{job="web"}[5m]))
    min_traffic: 100
    no_data: inconclusive
    inconclusive_limit: 3
  - name: p95-latency
    query: histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="web"}[5m])))
    compare: ratio
    max_ratio: 1.10
    min_delta: 0.005
    unit: seconds
    failure_limit: 2
    consecutive_error_limit: 6
    dry_run: true
  - name: availability
    query: avg_over_time(up{job="web"}[5m])
    compare: threshold
    min: 0.99
  - name: critical-alerts
    alerts: {labels: {severity: critical}, include_pending: false, max: 0}
    critical: true
  - name: smoke
    health: {checks: [home], max_failure_rate: 0}
`
	var cfg monitor.Config
	require.NoError(t, yamlstrict.Unmarshal("shipprod.yaml", []byte(src), &cfg))
	assert.Equal(t, 30*time.Minute, cfg.Window)
	require.Len(t, cfg.Gates, 5)
	assert.Equal(t, monitor.CompareIncrease, cfg.Gates[0].Compare)
	assert.Equal(t, 0.01, *cfg.Gates[0].MaxIncrease)
	assert.Equal(t, 6, *cfg.Gates[1].ConsecutiveErrorLimit)
	assert.Equal(t, 0.99, *cfg.Gates[2].Min)
	assert.Equal(t, []string{"home"}, cfg.Gates[4].Health.Checks)

	checker, err := health.New(health.Config{Checks: []health.CheckConfig{{Name: "home", HTTP: "/"}}}, health.Options{})
	require.NoError(t, err)
	_, err = monitor.New(cfg, monitor.Options{Health: checker, Getenv: func(string) string { return "token" }})
	require.NoError(t, err)

	var canary monitor.Config
	require.NoError(t, yamlstrict.Unmarshal("shipprod.yaml", []byte(`
interval: 30s
prometheus: {url: "http://prometheus:9090"}
judge: {pass: 90, marginal: 70, confidence: 0.95, tolerance: 0.2, min_points: 12}
gates:
  - name: canary-errors
    query: sum(rate(http_requests_total{deployment="{{.Deployment.ID}}",code=~"5.."}[1m])) / sum(rate(http_requests_total{deployment="{{.Deployment.ID}}"}[1m]))
    compare: canary
    unit: ratio
    critical: true
    judge: {direction: increase, allowed_increase: 1.2, min_effect: 0.005, must_have_data: true, weight: 60, group: errors, outliers: remove, outlier_factor: 2.5}
`), &canary))
	assert.Equal(t, monitor.JudgeConfig{Pass: 90, Marginal: 70, Confidence: 0.95, Tolerance: 0.2, MinPoints: 12}, canary.Judge)
	assert.Equal(t, monitor.CompareCanary, canary.Gates[0].Compare)
	assert.Equal(t, &monitor.GateJudge{Direction: judge.Increase, AllowedIncrease: 1.2, MinEffect: 0.005, MustHaveData: true, Weight: 60, Group: "errors",
		Outliers: "remove", OutlierFactor: 2.5}, canary.Gates[0].Judge)
	staged := &shipprod.Rollout{Stages: []shipprod.RolloutStage{{Percent: 10, Watch: 10 * time.Minute}, {Percent: 100}}}
	_, err = monitor.New(canary, monitor.Options{Rollout: staged})
	require.Error(t, err, "one weight for one group: the score could not reach 100")
	assert.Equal(t, "monitor.gates[].judge.weight: every group has a weight and they sum to 60: the score could never exceed 60; make them sum to 100 or leave a group without weight", err.Error())
	canary.Gates[0].Judge.Weight = 0
	_, err = monitor.New(canary, monitor.Options{Rollout: staged})
	require.NoError(t, err)

	err = yamlstrict.Unmarshal("shipprod.yaml", []byte("on_failure: freeze\n"), &cfg)
	require.Error(t, err, "the failure policy is the Pipeline's own section, not the monitor's")

	err = yamlstrict.Unmarshal("shipprod.yaml", []byte("gates:\n  - name: x\n    query: up\n    max_increse: 1\n"), &cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `shipprod.yaml:4: unknown key "gates[0].max_increse"`)
}
