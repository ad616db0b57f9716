package monitor

import (
	"time"

	"github.com/shipprod/shipprod/health/judge"
)

// Defaults for the zero Config.
const (
	DefaultWindow                = 15 * time.Minute
	DefaultInterval              = time.Minute
	DefaultKeepMeasurements      = 10
	DefaultConsecutiveErrorLimit = 4
	DefaultPrometheusTimeout     = 10 * time.Second
)

// Config is the monitor section of shipprod.yaml. The window ends early as
// soon as a gate that is not dry-run fails (the verdict can no longer get
// better); a critical gate fails on its first failed measurement, ignoring
// failure_limit.
//
//	monitor:
//	  window: 15m
//	  interval: 1m
//	  initial_delay: 2m
//	  prometheus: {url: "http://prometheus:9090"}
//	  gates:
//	    - name: error-rate
//	      query: sum(rate(http_requests_total{job="web",code=~"5.."}[5m])) / sum(rate(http_requests_total{job="web"}[5m]))
//	      compare: increase           # value - baseline <= max_increase
//	      max_increase: 0.01          # at most +1 percentage point
//	      unit: ratio
//	      critical: true
//	    - name: p95-latency
//	      query: histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="web"}[5m])))
//	      compare: ratio              # value <= baseline × max_ratio
//	      max_ratio: 1.10             # at most 10% worse
//	      min_delta: 0.005            # ignore changes under 5 ms
//	      unit: seconds
//	    - name: critical-alerts
//	      alerts: {labels: {severity: critical}}
//	      critical: true
//	    - name: smoke
//	      health: {checks: [home, api]}
//
// During a rollout in stages, compare: canary gates judge the canary
// against the deployment serving the rest of the traffic (see the package
// doc); their query is a template rendered for each:
//
//	monitor:
//	  judge: {pass: 95, marginal: 75, min_points: 10}
//	  gates:
//	    - name: canary-errors
//	      query: >
//	        sum(rate(http_requests_total{deployment="{{.Deployment.ID}}",code=~"5.."}[1m]))
//	        / sum(rate(http_requests_total{deployment="{{.Deployment.ID}}"}[1m]))
//	      compare: canary
//	      unit: ratio
//	      critical: true
//	      judge: {direction: increase, min_effect: 0.005}
//	    - name: canary-p95
//	      query: histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{deployment="{{.Deployment.ID}}"}[1m])))
//	      compare: canary
//	      unit: seconds
//	      judge: {allowed_increase: 1.10, min_effect: 0.005}
//
// Every field's zero value means its default.
type Config struct {
	// Window is how long production is watched after the deploy (default
	// 15m), counted from the start of Watch and including InitialDelay.
	Window time.Duration `yaml:"window"`
	// Interval is the time between measurements (default 1m).
	Interval time.Duration `yaml:"interval"`
	// InitialDelay is waited before the first measurement (default 0).
	InitialDelay time.Duration `yaml:"initial_delay"`
	// DashboardURL links to a dashboard of production (Grafana, Datadog,
	// …); the plan and the ship report show it next to the gates.
	DashboardURL string `yaml:"dashboard_url"`
	// DryRun makes every gate a dry-run gate: measured and reported ("would
	// have rolled back"), never failing the window.
	DryRun bool `yaml:"dry_run"`
	// KeepMeasurements is how many of each gate's latest measurements the
	// report keeps (default 10); older ones are only counted, so memory
	// stays flat however long the window.
	KeepMeasurements int `yaml:"keep_measurements"`

	Prometheus PrometheusConfig `yaml:"prometheus"`
	// Judge says how the compare: canary gates are judged together.
	Judge JudgeConfig  `yaml:"judge"`
	Gates []GateConfig `yaml:"gates"`
}

// JudgeConfig is the judge section of the monitor: how the compare: canary
// gates of a rollout stage are judged together, as one canary analysis (see
// health/judge). Every zero value means the judge's default.
//
//	judge:
//	  pass: 95          # canary score ≥ 95 passes the stage
//	  marginal: 75      # 75 ≤ score < 95 is inconclusive; below fails
//	  confidence: 0.98  # of each metric's Mann–Whitney interval
//	  tolerance: 0.25
//	  min_points: 10    # fewer points in either sample: no data
type JudgeConfig struct {
	// Pass is the canary score (0–100) at or above which a stage passes
	// (default 95).
	Pass float64 `yaml:"pass"`
	// Marginal is the score at or above which a stage that does not pass
	// is inconclusive rather than failed (default 75).
	Marginal float64 `yaml:"marginal"`
	// Confidence is the level of each metric's Mann–Whitney interval
	// (default 0.98).
	Confidence float64 `yaml:"confidence"`
	// Tolerance is the share of the shift estimate the interval must clear
	// to count a change (default 0.25, Kayenta's).
	Tolerance float64 `yaml:"tolerance"`
	// MinPoints is the fewest measurements each side of a gate needs to be
	// judged (default 10): a stage must last long enough to take them.
	MinPoints int `yaml:"min_points"`
}

// PrometheusConfig says where the query and alerts gates read metrics.
type PrometheusConfig struct {
	// URL is the server's base URL, e.g. http://prometheus:9090. It must
	// not hold credentials (http://user:password@…, or anything before an
	// @): the URL is shown in plans, reports and errors, so New refuses it.
	// Use Username and PasswordEnv, or BearerTokenEnv.
	URL string `yaml:"url"`
	// Timeout bounds each request (default 10s) and is sent to the server
	// as the query timeout.
	Timeout time.Duration `yaml:"timeout"`
	// BearerTokenEnv names the environment variable holding a bearer token.
	BearerTokenEnv string `yaml:"bearer_token_env"`
	// Username and PasswordEnv set basic authentication.
	Username    string `yaml:"username"`
	PasswordEnv string `yaml:"password_env"`
	// Headers are added to every request.
	Headers map[string]string `yaml:"headers"`
}

// Comparison says how a query gate judges its value.
type Comparison string

// Comparisons.
const (
	// CompareThreshold compares the value with fixed bounds: max and/or min.
	CompareThreshold Comparison = "threshold"
	// CompareIncrease allows the value to exceed the baseline by at most
	// max_increase, in the value's own unit: for an error ratio, 0.01 is one
	// percentage point.
	CompareIncrease Comparison = "increase"
	// CompareRatio allows the value to be at most max_ratio times the
	// baseline (1.10: 10% worse), ignoring changes of min_delta or less.
	CompareRatio Comparison = "ratio"
	// CompareCanary measures, during a rollout stage, the canary and the
	// baseline deployment that serves the rest of the traffic with the
	// same query (a template, see CanaryQuery), and has the judge compare
	// the two samples at the end of the stage; see the package doc.
	CompareCanary Comparison = "canary"
)

// NoDataPolicy says what a measurement without data (an empty result, NaN,
// or traffic under min_traffic) counts as.
type NoDataPolicy string

// No-data policies.
const (
	NoDataInconclusive NoDataPolicy = "inconclusive" // the default
	NoDataPass         NoDataPolicy = "pass"
	NoDataFail         NoDataPolicy = "fail"
	NoDataError        NoDataPolicy = "error"
)

// GateConfig is one gate. Exactly one of health, query and alerts says what
// it measures.
type GateConfig struct {
	// Name names the gate in the output and the report.
	Name string `yaml:"name"`

	// Health repeats health checks every interval; the measurement is the
	// share of checks failing.
	Health *HealthGate `yaml:"health"`
	// Query is a PromQL instant query returning one value (a one-series
	// vector or a scalar). For compare: canary it is a text/template
	// rendered once for the canary and once for the baseline (CanaryQuery).
	Query string `yaml:"query"`
	// Alerts counts the firing alerts matching labels.
	Alerts *AlertsGate `yaml:"alerts"`

	// Compare is required for query gates: threshold, increase, ratio or
	// canary.
	Compare Comparison `yaml:"compare"`
	// Max and Min are the bounds of a threshold comparison.
	Max *float64 `yaml:"max"`
	Min *float64 `yaml:"min"`
	// MaxIncrease is the allowed rise over the baseline (compare: increase).
	MaxIncrease *float64 `yaml:"max_increase"`
	// MaxRatio is the allowed factor over the baseline (compare: ratio).
	MaxRatio *float64 `yaml:"max_ratio"`
	// MinDelta is the smallest change a ratio comparison fails on, so that
	// a baseline near zero does not fail on noise.
	MinDelta float64 `yaml:"min_delta"`
	// Worse says which direction is bad for increase and ratio comparisons:
	// higher (default; error rates, latency) or lower (throughput, success
	// rate).
	Worse string `yaml:"worse"`
	// BaselineQuery measures the baseline instead of Query (e.g. with an
	// offset); default Query itself, run before the deploy.
	BaselineQuery string `yaml:"baseline_query"`
	// TrafficQuery and MinTraffic guard against judging a service with no
	// traffic: when the traffic query returns less than MinTraffic (or no
	// data), the measurement counts as no data.
	TrafficQuery string  `yaml:"traffic_query"`
	MinTraffic   float64 `yaml:"min_traffic"`
	// NoData is what a measurement without data counts as (default
	// inconclusive).
	NoData NoDataPolicy `yaml:"no_data"`
	// Unit formats values in messages: ratio (0-1, shown as %), percent,
	// seconds, ms, or empty for plain numbers.
	Unit string `yaml:"unit"`

	// Critical gates fail on their first failed measurement, ignoring
	// FailureLimit: use it for what must never be tolerated (the error
	// rate, critical alerts). Like any gate that is not dry-run, a failed
	// critical gate ends the window at once; the verdict names critical
	// gates first.
	Critical bool `yaml:"critical"`
	// DryRun gates are measured and reported ("would have failed") but
	// never fail the window, nor end it.
	DryRun bool `yaml:"dry_run"`
	// FailureLimit is how many failed measurements the gate tolerates: it
	// fails when there are more (default 0: the first failure fails it).
	// Failures are counted over the whole window, not in a row. A gate that
	// fails ends the window at once (the window's verdict cannot get
	// better). Critical gates ignore FailureLimit.
	FailureLimit int `yaml:"failure_limit"`
	// InconclusiveLimit is how many inconclusive measurements the gate
	// tolerates before it is inconclusive (default 0).
	InconclusiveLimit int `yaml:"inconclusive_limit"`
	// ConsecutiveErrorLimit is how many errors in a row (the metrics source
	// failing) the gate tolerates before its verdict is error (default 4).
	// Errors never count as failures.
	ConsecutiveErrorLimit *int `yaml:"consecutive_error_limit"`

	// Judge says how the judge compares the canary's sample with the
	// baseline's (compare: canary only). The gate's name, unit and
	// critical are the judged metric's.
	Judge *GateJudge `yaml:"judge"`
}

// GateJudge is how one compare: canary gate is judged: the settings of
// its metric in health/judge (judge.MetricConfig). Every zero value means
// the default.
//
//	judge:
//	  direction: increase     # the default here: higher is worse
//	  allowed_increase: 1.10  # fail only at +10% of the mean or more
//	  min_effect: 0.005       # … and +0.5 percentage points or more
//	  weight: 60              # the gate's (group's) share of the score
type GateJudge struct {
	// Direction is increase (default for a gate: higher is worse),
	// decrease or either.
	Direction judge.Direction `yaml:"direction"`
	// AllowedIncrease and AllowedDecrease are the ratios of the canary's
	// mean to the baseline's at which a significant change fails (default
	// 1.0: any significant change in the direction that is worse).
	AllowedIncrease float64 `yaml:"allowed_increase"`
	AllowedDecrease float64 `yaml:"allowed_decrease"`
	// MinEffect is the smallest difference of the means, in the gate's
	// unit, that can fail it.
	MinEffect float64 `yaml:"min_effect"`
	// MustHaveData counts a gate without enough points as failed, not left
	// out of the score.
	MustHaveData bool `yaml:"must_have_data"`
	// Weight is the share (percent) of the score of the gate's group;
	// Group puts gates in one group (default: a group of its own).
	Weight float64 `yaml:"weight"`
	Group  string  `yaml:"group"`
	// Outliers is keep (default) or remove; OutlierFactor the IQR factor
	// (default 3).
	Outliers      string  `yaml:"outliers"`
	OutlierFactor float64 `yaml:"outlier_factor"`
}

// HealthGate repeats health checks.
type HealthGate struct {
	// Checks names the health checks to repeat; empty means all of them.
	Checks []string `yaml:"checks"`
	// MaxFailureRate is the share of checks (0-1) that may fail in one
	// measurement (default 0).
	MaxFailureRate float64 `yaml:"max_failure_rate"`
}

// AlertsGate counts firing alerts.
type AlertsGate struct {
	// Labels the alerts must all have (default severity: critical).
	Labels map[string]string `yaml:"labels"`
	// IncludePending counts pending alerts too.
	IncludePending bool `yaml:"include_pending"`
	// Max is how many matching alerts may fire (default 0).
	Max int `yaml:"max"`
}
