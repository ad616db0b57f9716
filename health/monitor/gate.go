package monitor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health"
	"github.com/shipprod/shipprod/health/judge"
	"github.com/shipprod/shipprod/health/prometheus"
)

// Measurement is one measurement of one gate.
type Measurement struct {
	Gate string    `json:"gate"`
	At   time.Time `json:"at"`
	// Phase is passed, failed, inconclusive or error.
	Phase shipprod.Verdict `json:"phase"`
	// Value, Threshold and Baseline are set when they exist and are finite.
	Value     *float64 `json:"value,omitempty"`
	Threshold *float64 `json:"threshold,omitempty"`
	Baseline  *float64 `json:"baseline,omitempty"`
	// Message says what was measured, e.g.
	// "value 3.2% vs threshold 1.5% (baseline 0.5%)".
	Message string `json:"message"`
}

// gate is a validated GateConfig.
type gate struct {
	name string
	// where names the gate in configuration errors:
	// "monitor.gates[2] (error-rate)".
	where    string
	kind     string // "health", "query" or "alerts"
	cfg      GateConfig
	critical bool
	dryRun   bool
	errLimit int
	checker  *health.Checker
	labels   map[string]string
	// tmpl is the query template of a compare: canary gate; judged the
	// configuration of the judge it is judged by.
	tmpl   *template.Template
	judged judge.Config
}

// canary reports whether the gate compares the canary with the baseline.
func (g *gate) canary() bool { return g.kind == "query" && g.cfg.Compare == CompareCanary }

func newGate(gc GateConfig, allDryRun bool, checker *health.Checker, haveMetrics bool) (*gate, error) {
	g := &gate{name: strings.TrimSpace(gc.Name), cfg: gc, critical: gc.Critical, dryRun: gc.DryRun || allDryRun, errLimit: DefaultConsecutiveErrorLimit}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if g.name == "" {
		bad("name is missing; every gate needs a name for the report")
	}
	kind, err := gateKind(gc)
	if err != nil {
		return nil, errors.New(strings.Join(append(problems, err.Error()), "; "))
	}
	g.kind = kind
	if gc.FailureLimit < 0 || gc.InconclusiveLimit < 0 || gc.ConsecutiveErrorLimit != nil && *gc.ConsecutiveErrorLimit < 0 {
		bad("failure_limit, inconclusive_limit and consecutive_error_limit must not be negative")
	}
	if gc.ConsecutiveErrorLimit != nil {
		g.errLimit = *gc.ConsecutiveErrorLimit
	}
	if set := queryOnlyKeys(gc); g.kind != "query" && len(set) > 0 {
		bad("%s: only for query gates, not %s", strings.Join(set, ", "), g.kind)
	}
	switch g.kind {
	case "health":
		g.setupHealth(checker, bad)
	case "alerts":
		if !haveMetrics {
			bad("an alerts gate needs monitor.prometheus.url")
		}
		if gc.Alerts.Max < 0 {
			bad("alerts.max must not be negative")
		}
		g.labels = gc.Alerts.Labels
		if len(g.labels) == 0 {
			g.labels = map[string]string{"severity": "critical"}
		}
	case "query":
		if !haveMetrics {
			bad("a query gate needs monitor.prometheus.url")
		}
		problems = append(problems, validateComparison(gc)...)
		if gc.Compare == CompareCanary {
			if g.tmpl, err = parseCanaryQuery(gc.Query); err != nil {
				bad("%v", err)
			}
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return g, nil
}

// gateKind returns the one kind a gate sets: health, query or alerts.
func gateKind(gc GateConfig) (string, error) {
	var kinds []string
	if gc.Health != nil {
		kinds = append(kinds, "health")
	}
	if strings.TrimSpace(gc.Query) != "" {
		kinds = append(kinds, "query")
	}
	if gc.Alerts != nil {
		kinds = append(kinds, "alerts")
	}
	switch len(kinds) {
	case 0:
		return "", errors.New("no kind: set one of health, query or alerts")
	case 1:
		return kinds[0], nil
	default:
		return "", errors.New("sets " + strings.Join(kinds, " and ") + "; a gate measures one thing")
	}
}

// queryOnlyKeys lists, sorted, the keys set in gc that only query gates
// take.
func queryOnlyKeys(gc GateConfig) []string {
	queryOnly := map[string]bool{
		"compare": gc.Compare != "", "max": gc.Max != nil, "min": gc.Min != nil, "max_increase": gc.MaxIncrease != nil,
		"max_ratio": gc.MaxRatio != nil, "min_delta": gc.MinDelta != 0, "worse": gc.Worse != "", "baseline_query": gc.BaselineQuery != "",
		"traffic_query": gc.TrafficQuery != "", "min_traffic": gc.MinTraffic != 0, "no_data": gc.NoData != "", "unit": gc.Unit != "",
		"judge": gc.Judge != nil,
	}
	var set []string
	for k, v := range queryOnly {
		if v {
			set = append(set, k)
		}
	}
	sort.Strings(set)
	return set
}

// setupHealth picks the health checks a health gate repeats: the named
// ones, or all.
func (g *gate) setupHealth(checker *health.Checker, bad func(string, ...any)) {
	hc := g.cfg.Health
	switch {
	case checker == nil:
		bad("a health gate needs the health checks (monitor.Options.Health)")
	case len(hc.Checks) > 0:
		sub, err := checker.Subset(hc.Checks...)
		if err != nil {
			bad("health.checks: %v", err)
		}
		g.checker = sub
	default:
		g.checker = checker
	}
	if g.checker != nil && len(g.checker.Checks()) == 0 {
		bad("there are no health checks to repeat")
	}
	if r := hc.MaxFailureRate; r < 0 || r > 1 {
		bad("health.max_failure_rate %v is not a share between 0 and 1", r)
	}
}

func validateComparison(gc GateConfig) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	forbid := func(key string, set bool) {
		if set {
			bad("%s does not apply to compare: %s", key, gc.Compare)
		}
	}
	switch gc.Compare {
	case CompareThreshold:
		if gc.Max == nil && gc.Min == nil {
			bad("compare: threshold needs max and/or min")
		}
		forbid("max_increase", gc.MaxIncrease != nil)
		forbid("max_ratio", gc.MaxRatio != nil)
		forbid("min_delta", gc.MinDelta != 0)
		forbid("baseline_query", gc.BaselineQuery != "")
		forbid("worse", gc.Worse != "")
	case CompareIncrease:
		if gc.MaxIncrease == nil || *gc.MaxIncrease < 0 {
			bad("compare: increase needs max_increase >= 0 (e.g. 0.01 for one percentage point of a ratio)")
		}
		forbid("max", gc.Max != nil)
		forbid("min", gc.Min != nil)
		forbid("max_ratio", gc.MaxRatio != nil)
		forbid("min_delta", gc.MinDelta != 0)
	case CompareRatio:
		if gc.MaxRatio == nil || *gc.MaxRatio < 1 {
			bad("compare: ratio needs max_ratio >= 1 (e.g. 1.10 for at most 10%% worse)")
		}
		if gc.MinDelta < 0 {
			bad("min_delta must not be negative")
		}
		forbid("max", gc.Max != nil)
		forbid("min", gc.Min != nil)
		forbid("max_increase", gc.MaxIncrease != nil)
	case CompareCanary:
		problems = append(problems, validateCanary(gc)...)
	case "":
		bad("compare is required for a query gate: threshold (max/min), increase (max_increase over the baseline), ratio (max_ratio over the baseline) or canary (the canary against the baseline deployment, during a rollout)")
	default:
		bad("compare %q is not threshold, increase, ratio or canary", gc.Compare)
	}
	if gc.Judge != nil && gc.Compare != CompareCanary {
		bad("judge: only for compare: canary")
	}
	switch gc.Worse {
	case "", "higher", "lower":
	default:
		bad("worse %q is not higher or lower", gc.Worse)
	}
	switch gc.NoData {
	case "", NoDataInconclusive, NoDataPass, NoDataFail, NoDataError:
	default:
		bad("no_data %q is not inconclusive, pass, fail or error", gc.NoData)
	}
	switch gc.Unit {
	case "", "ratio", "percent", "seconds", "ms":
	default:
		bad("unit %q is not ratio, percent, seconds or ms", gc.Unit)
	}
	if gc.MinTraffic != 0 && gc.TrafficQuery == "" {
		bad("min_traffic needs traffic_query")
	}
	if gc.MinTraffic < 0 {
		bad("min_traffic must not be negative")
	}
	return problems
}

func (g *gate) needsBaseline() bool {
	return g.kind == "query" && (g.cfg.Compare == CompareIncrease || g.cfg.Compare == CompareRatio)
}

func (g *gate) lowerIsWorse() bool { return g.cfg.Worse == "lower" }

// describe says what the gate checks, for the plan.
func (g *gate) describe() string {
	d := fmt.Sprintf("%s (%s)", g.name, g.condition())
	var tags []string
	if g.critical {
		tags = append(tags, "critical")
	}
	if g.dryRun {
		tags = append(tags, "dry run")
	}
	if len(tags) > 0 {
		d += " [" + strings.Join(tags, ", ") + "]"
	}
	return d
}

// condition says what passes, e.g. "at most +1 percentage points vs baseline".
func (g *gate) condition() string {
	switch g.kind {
	case "health":
		var names []string
		for _, c := range g.checker.Checks() {
			names = append(names, c.Name)
		}
		return fmt.Sprintf("health checks %s failing at most %s", strings.Join(names, ", "), formatValue(g.cfg.Health.MaxFailureRate, "ratio"))
	case "alerts":
		return fmt.Sprintf("at most %d firing alerts %s", g.cfg.Alerts.Max, labelText(g.labels))
	}
	unit, sign := g.cfg.Unit, "+"
	if g.lowerIsWorse() {
		sign = "-"
	}
	switch g.cfg.Compare {
	case CompareThreshold:
		var bounds []string
		if g.cfg.Max != nil {
			bounds = append(bounds, "≤ "+formatValue(*g.cfg.Max, unit))
		}
		if g.cfg.Min != nil {
			bounds = append(bounds, "≥ "+formatValue(*g.cfg.Min, unit))
		}
		return strings.Join(bounds, " and ")
	case CompareIncrease:
		return fmt.Sprintf("at most %s%s vs baseline", sign, formatDelta(*g.cfg.MaxIncrease, unit))
	case CompareRatio:
		if g.lowerIsWorse() {
			return fmt.Sprintf("at least ÷%g of baseline", *g.cfg.MaxRatio)
		}
		return fmt.Sprintf("at most ×%g vs baseline", *g.cfg.MaxRatio)
	case CompareCanary:
		return g.conditionCanary()
	}
	return ""
}

func labelText(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, labels[k])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// measure takes one measurement of a gate.
func (m *Monitor) measure(ctx context.Context, st *gateState, r *watchRun) Measurement {
	g := st.g
	switch {
	case g.kind == "health":
		return m.measureHealth(ctx, g, r.rel, r.dep)
	case g.kind == "alerts":
		return m.measureAlerts(ctx, g)
	case st.cs != nil:
		return m.measureCanary(ctx, g, st.cs)
	default:
		return m.measureQuery(ctx, g, r.base)
	}
}

func (m *Monitor) measureHealth(ctx context.Context, g *gate, rel shipprod.Release, dep shipprod.Deployment) Measurement {
	rep, err := g.checker.RunOnce(ctx, rel, dep)
	if err != nil {
		return Measurement{Phase: shipprod.VerdictError, Message: "error: health checks could not run: " + err.Error()}
	}
	failed := rep.Failed()
	rate := float64(len(failed)) / float64(len(rep.Checks))
	limit := g.cfg.Health.MaxFailureRate
	meas := Measurement{Phase: shipprod.VerdictPassed, Value: finite(rate), Threshold: finite(limit)}
	detail := fmt.Sprintf("%d of %d checks failed", len(failed), len(rep.Checks))
	if len(failed) > 0 {
		var parts []string
		for _, c := range failed {
			parts = append(parts, c.Name+": "+c.Error)
		}
		detail += ": " + strings.Join(parts, "; ")
	}
	if rate > limit {
		meas.Phase = shipprod.VerdictFailed
	}
	meas.Message = fmt.Sprintf("value %s vs threshold %s (%s)", formatValue(rate, "ratio"), formatValue(limit, "ratio"), detail)
	return meas
}

func (m *Monitor) measureAlerts(ctx context.Context, g *gate) Measurement {
	actx, cancel := m.requestContext(ctx)
	defer cancel()
	alerts, err := m.metrics.Alerts(actx)
	if err != nil {
		return Measurement{Phase: shipprod.VerdictError, Message: "error: " + m.mask(err.Error())}
	}
	var firing []string
	for _, a := range alerts {
		if a.State != "firing" && !(g.cfg.Alerts.IncludePending && a.State == "pending") {
			continue
		}
		if matches(a.Labels, g.labels) {
			firing = append(firing, fmt.Sprintf("%s%s (%s)", a.Name(), labelText(a.Labels), a.State))
		}
	}
	n, limit := float64(len(firing)), float64(g.cfg.Alerts.Max)
	meas := Measurement{Phase: shipprod.VerdictPassed, Value: finite(n), Threshold: finite(limit)}
	if n > limit {
		meas.Phase = shipprod.VerdictFailed
	}
	detail := "no matching alert " + labelText(g.labels)
	if len(firing) > 0 {
		detail = "firing: " + strings.Join(firing, ", ")
	}
	meas.Message = fmt.Sprintf("value %d vs threshold %d (%s)", len(firing), g.cfg.Alerts.Max, detail)
	return meas
}

func matches(labels, want map[string]string) bool {
	for k, v := range want {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func (m *Monitor) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	timeout := m.cfg.Prometheus.Timeout
	if timeout <= 0 {
		timeout = DefaultPrometheusTimeout
	}
	return context.WithTimeout(ctx, timeout)
}

// queryValue runs an instant query that should give one value. ok is false
// when there is no data (an empty vector or NaN), with detail saying which;
// err means the source failed or the query does not give one value.
func (m *Monitor) queryValue(ctx context.Context, q string) (v float64, ok bool, detail string, err error) {
	qctx, cancel := m.requestContext(ctx)
	defer cancel()
	res, err := m.metrics.Query(qctx, q, time.Time{})
	if err != nil {
		return 0, false, "", errors.New(m.mask(err.Error()))
	}
	switch res.Type {
	case prometheus.ValueVector:
		switch len(res.Samples) {
		case 0:
			return 0, false, "the query returned an empty vector", nil
		case 1:
			v = res.Samples[0].Value
		default:
			return 0, false, "", fmt.Errorf("the query returned %d series; aggregate them into one (sum, max, …)", len(res.Samples))
		}
	case prometheus.ValueScalar:
		v = res.Samples[0].Value
	default:
		return 0, false, "", fmt.Errorf("the query returned a %s; a gate needs an instant vector of one series or a scalar", res.Type)
	}
	if math.IsNaN(v) {
		return 0, false, "the query returned NaN (0/0: no traffic?)", nil
	}
	return v, true, "", nil
}

// measureQuery measures a query gate: its traffic first, when it has a
// traffic_query, then its value against the threshold or the baseline.
func (m *Monitor) measureQuery(ctx context.Context, g *gate, base shipprod.MonitorBaseline) Measurement {
	if g.cfg.TrafficQuery != "" {
		if meas, enough := m.checkTraffic(ctx, g); !enough {
			return meas
		}
	}
	v, ok, detail, err := m.queryValue(ctx, g.cfg.Query)
	switch {
	case err != nil:
		return Measurement{Phase: shipprod.VerdictError, Message: "error: " + err.Error()}
	case !ok:
		return g.noData("no data: " + detail)
	}
	meas := Measurement{Phase: shipprod.VerdictPassed, Value: finite(v)}
	var threshold float64
	var bad bool
	var note string
	if g.cfg.Compare == CompareThreshold {
		threshold, bad, note = g.againstThreshold(v)
	} else {
		b, has := base.Values[g.name]
		if !has {
			return g.noBaseline(v, base)
		}
		meas.Baseline = finite(b)
		threshold, bad = g.againstBaseline(v, b)
		note = fmt.Sprintf(" (baseline %s)", formatValue(b, g.cfg.Unit))
	}
	meas.Threshold = finite(threshold)
	if bad {
		meas.Phase = shipprod.VerdictFailed
	}
	meas.Message = fmt.Sprintf("value %s vs threshold %s%s", formatValue(v, g.cfg.Unit), formatValue(threshold, g.cfg.Unit), note)
	return meas
}

// noData is a measurement without data, judged by the gate's no_data
// policy (inconclusive by default).
func (g *gate) noData(detail string) Measurement {
	phase := map[NoDataPolicy]shipprod.Verdict{
		"": shipprod.VerdictInconclusive, NoDataInconclusive: shipprod.VerdictInconclusive,
		NoDataPass: shipprod.VerdictPassed, NoDataFail: shipprod.VerdictFailed, NoDataError: shipprod.VerdictError,
	}[g.cfg.NoData]
	policy := g.cfg.NoData
	if policy == "" {
		policy = NoDataInconclusive
	}
	return Measurement{Phase: phase, Message: fmt.Sprintf("%s (no_data: %s)", detail, policy)}
}

// checkTraffic runs the traffic_query; without enough traffic (or when the
// query fails) it returns the measurement to take instead.
func (m *Monitor) checkTraffic(ctx context.Context, g *gate) (Measurement, bool) {
	traffic, ok, detail, err := m.queryValue(ctx, g.cfg.TrafficQuery)
	switch {
	case err != nil:
		return Measurement{Phase: shipprod.VerdictError, Message: "error: traffic_query: " + err.Error()}, false
	case !ok:
		return g.noData("no traffic: traffic_query: " + detail), false
	case traffic < g.cfg.MinTraffic:
		return g.noData(fmt.Sprintf("no traffic: traffic_query returned %s, under min_traffic %s", formatValue(traffic, ""), formatValue(g.cfg.MinTraffic, ""))), false
	}
	return Measurement{}, true
}

// againstThreshold compares v with max and min; note marks a minimum.
func (g *gate) againstThreshold(v float64) (threshold float64, bad bool, note string) {
	switch {
	case g.cfg.Max != nil && (v > *g.cfg.Max || math.IsNaN(v)):
		return *g.cfg.Max, true, ""
	case g.cfg.Min != nil && v < *g.cfg.Min:
		return *g.cfg.Min, true, " (minimum)"
	case g.cfg.Max != nil:
		return *g.cfg.Max, false, ""
	default:
		return *g.cfg.Min, false, " (minimum)"
	}
}

// againstBaseline compares v with the threshold the baseline b gives: an
// increase or a ratio, in the direction that is worse.
func (g *gate) againstBaseline(v, b float64) (threshold float64, bad bool) {
	lower := g.lowerIsWorse()
	if g.cfg.Compare == CompareIncrease {
		threshold = b + *g.cfg.MaxIncrease
		if lower {
			threshold = b - *g.cfg.MaxIncrease
		}
	} else {
		threshold = math.Max(b**g.cfg.MaxRatio, b+g.cfg.MinDelta)
		if lower {
			threshold = math.Min(b / *g.cfg.MaxRatio, b-g.cfg.MinDelta)
		}
	}
	if lower {
		return threshold, v < threshold
	}
	return threshold, v > threshold
}

// noBaseline is the measurement of a gate whose baseline was not captured:
// no data when the baseline had none, else an error.
func (g *gate) noBaseline(v float64, base shipprod.MonitorBaseline) Measurement {
	reason := base.Errors[g.name]
	if reason == "" {
		reason = "not captured before the deploy"
	}
	if strings.HasPrefix(reason, noDataPrefix) {
		return g.noData("no baseline: " + reason)
	}
	return Measurement{Phase: shipprod.VerdictError, Value: finite(v), Message: "error: no baseline: " + reason}
}

func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// gateState follows one gate through a window. Only counters and the last
// few measurements are kept, so its size does not grow with the window.
type gateState struct {
	g                                              *gate
	would                                          string
	passed, failed, inconclusive, errs, consecErrs int
	// maxConsecErrs is the longest run of errors in a row so far.
	maxConsecErrs int
	verdict       shipprod.Verdict
	message       string
	ring          []Measurement
	recorded      int
	// index is the gate's place in the configuration, and of its
	// measurement in a round's results.
	index int
	// skipped gates are not measured and do not count toward the window's
	// verdict (a canary gate outside a rollout stage).
	skipped bool
	// cs holds the points of a canary gate.
	cs *canaryState
}

// counts reports whether the gate's verdict counts toward the window's.
func (st *gateState) counts() bool { return !st.g.dryRun && !st.skipped }

// skip leaves the gate out of the window, saying why.
func (st *gateState) skip(why string) {
	st.skipped = true
	st.verdict = shipprod.VerdictInconclusive
	st.message = fmt.Sprintf("gate %s skipped (%s): %s", st.g.name, st.verdict, why)
}

func newGateState(g *gate, keep int, policy shipprod.FailurePolicy) *gateState {
	would := map[shipprod.FailurePolicy]string{
		shipprod.PolicyRollback: "would have rolled back", shipprod.PolicyFreeze: "would have frozen the release", shipprod.PolicyNotify: "would have notified",
	}[policy]
	return &gateState{g: g, ring: make([]Measurement, 0, keep), would: would}
}

func (st *gateState) record(m Measurement) {
	if len(st.ring) < cap(st.ring) {
		st.ring = append(st.ring, m)
	} else {
		st.ring[st.recorded%cap(st.ring)] = m
	}
	st.recorded++
	switch m.Phase {
	case shipprod.VerdictPassed:
		st.passed++
		st.consecErrs = 0
	case shipprod.VerdictFailed:
		st.failed++
		st.consecErrs = 0
	case shipprod.VerdictInconclusive:
		st.inconclusive++
		st.consecErrs = 0
	case shipprod.VerdictError:
		st.errs++
		st.consecErrs++
		st.maxConsecErrs = max(st.maxConsecErrs, st.consecErrs)
	}
	// Only a failure decides a gate before the window ends: an inconclusive
	// or error measurement (no data yet right after the deploy, a metrics
	// outage) counts toward its limit, and the gate goes on measuring, so
	// that a degradation that follows is still seen.
	cfg := st.g.cfg
	switch {
	case st.g.critical && st.failed > 0:
		// A critical gate fails on its first failed measurement: it guards
		// something (errors, critical alerts) that must not be tolerated.
		msg := m.Message
		if cfg.FailureLimit > 0 {
			msg += fmt.Sprintf(" — a critical gate fails on its first failed measurement (failure_limit %d does not apply)", cfg.FailureLimit)
		}
		st.decide(shipprod.VerdictFailed, msg)
	case st.failed > cfg.FailureLimit:
		msg := m.Message
		if cfg.FailureLimit > 0 {
			msg += fmt.Sprintf(" — %d failed measurements, more than failure_limit %d", st.failed, cfg.FailureLimit)
		}
		st.decide(shipprod.VerdictFailed, msg)
	}
}

// finish decides a gate still running when the window ends: error when
// more errors came in a row than its limit allows, inconclusive when more
// measurements were inconclusive than its limit allows, else passed. The
// verdict says how many measurements there were of each kind.
func (st *gateState) finish() {
	cfg := st.g.cfg
	last := ""
	if len(st.ring) > 0 {
		last = "; last: " + strings.TrimPrefix(st.last().Message, "error: ")
	}
	counts := st.countsText()
	if v, msg, bad := st.errorVerdict(); bad {
		st.decide(v, msg)
		return
	}
	switch {
	case st.inconclusive > cfg.InconclusiveLimit:
		st.decide(shipprod.VerdictInconclusive, fmt.Sprintf("%s — more inconclusive than inconclusive_limit %d%s", counts, cfg.InconclusiveLimit, last))
	case st.passed+st.failed+st.inconclusive > 0:
		st.decide(shipprod.VerdictPassed, counts+last)
	default:
		st.decide(shipprod.VerdictInconclusive, "no measurement was taken in the window")
	}
}

func (st *gateState) countsText() string {
	return fmt.Sprintf("%d measurements: %d passed, %d failed, %d inconclusive, %d errors",
		st.recorded, st.passed, st.failed, st.inconclusive, st.errs)
}

// errorVerdict is the error verdict of a gate whose metrics source failed
// too often: more errors in a row than its limit allows, or no measurement
// that succeeded. bad is false when the errors do not decide the gate.
func (st *gateState) errorVerdict() (v shipprod.Verdict, msg string, bad bool) {
	last := ""
	if len(st.ring) > 0 {
		last = "; last: " + strings.TrimPrefix(st.last().Message, "error: ")
	}
	switch {
	case st.passed+st.failed+st.inconclusive > 0 && st.maxConsecErrs > st.g.errLimit:
		return shipprod.VerdictError, fmt.Sprintf("%s — %d errors in a row, more than consecutive_error_limit %d%s", st.countsText(), st.maxConsecErrs, st.g.errLimit, last), true
	case st.passed+st.failed+st.inconclusive == 0 && st.errs > 0:
		return shipprod.VerdictError, fmt.Sprintf("no measurement succeeded in the window (%d errors); last: %s", st.errs, strings.TrimPrefix(st.last().Message, "error: ")), true
	}
	return "", "", false
}

func (st *gateState) decide(v shipprod.Verdict, msg string) {
	st.verdict = v
	st.message = fmt.Sprintf("gate %s %s: %s", st.g.name, v, msg)
	if st.g.dryRun && v != shipprod.VerdictPassed {
		st.message = "dry run: " + st.message
		if v == shipprod.VerdictFailed && st.would != "" {
			st.message += " (" + st.would + ")"
		}
	}
}

func (st *gateState) last() Measurement {
	if len(st.ring) == 0 {
		return Measurement{}
	}
	if len(st.ring) < cap(st.ring) {
		return st.ring[len(st.ring)-1]
	}
	return st.ring[(st.recorded-1)%cap(st.ring)]
}

// kept returns the measurements kept, oldest first.
func (st *gateState) kept() []Measurement {
	if len(st.ring) < cap(st.ring) {
		return append([]Measurement(nil), st.ring...)
	}
	start := st.recorded % cap(st.ring)
	return append(append([]Measurement(nil), st.ring[start:]...), st.ring[:start]...)
}

func (st *gateState) result() shipprod.MonitorGateResult {
	return shipprod.MonitorGateResult{
		Name:         st.g.name,
		Verdict:      st.verdict,
		Measurements: st.recorded,
		Failures:     st.failed,
		Errors:       st.errs,
		Inconclusive: st.inconclusive,
		Critical:     st.g.critical,
		DryRun:       st.g.dryRun,
		Message:      st.message,
	}
}
