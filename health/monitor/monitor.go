// Package monitor watches production for a window after a deploy and says
// whether it degraded. It implements shipprod.Monitor: Baseline measures the
// gates before the deploy, Watch measures them every interval after it.
//
// A gate measures one thing: health checks repeated (the share failing),
// a Prometheus instant query compared with a fixed threshold or with the
// baseline (an absolute increase, e.g. at most +1 percentage point of error
// rate, or a ratio, e.g. p95 latency at most 10% worse), or the firing
// alerts matching some labels. Every measurement is Passed, Failed,
// Inconclusive (no data or no traffic, per the gate's policy) or Error (the
// metrics source itself failed — never counted as a production failure), in
// the style of Argo Rollouts' analysis. Per gate, a failure limit, an
// inconclusive limit and a consecutive-error limit decide its verdict; a
// critical gate fails on its first failed measurement, whatever its
// failure_limit; a dry-run gate is measured and reported ("would have
// rolled back") but never fails the window. The window's verdict is the
// worst of its gates' (Failed > Error > Inconclusive > Passed), so as soon
// as any gate that is not dry-run fails, the verdict is final and the
// window ends there, critical or not, rather than leaving the degraded
// release in production until the window's end (as Argo Rollouts
// terminates an analysis run when a metric fails). Only a failure ends a
// gate early: an inconclusive or error measurement (no data yet right after
// the deploy, a metrics outage) counts toward its limit and the gate goes on
// measuring, so that a degradation that follows is still seen; its verdict
// at the end says how many measurements of each kind there were. Every
// verdict explains itself, naming the gate and when it ended the window:
//
//	gate error-rate failed: value 3.2% vs threshold 1.5% (baseline 0.5%); gate error-rate failed at 4m0s of 15m0s and ended the window
//
// # Rollout stages and canary gates
//
// WatchStage (shipprod.StageWatcher) watches one stage of a rollout with
// the same loop and gates as Watch, over the stage's window instead of
// Config.Window, with the configured initial delay and interval capped to
// it; each measurement's progress names the stage:
//
//	stage 2/3 (25%): error-rate: canary 0.41% vs baseline 0.39% — 3m0s of 10m0s
//
// A compare: canary gate compares, during a stage, the canary with the
// baseline deployment — what production ran before, which serves the rest
// of the traffic — rather than with numbers taken before the deploy: both
// serve at the same time, so a traffic peak or a dependency's outage
// touches both alike (Kayenta's approach). Its query is a text/template
// (see CanaryQuery) rendered once for each; every interval measures both,
// and each measurement is a point for the judge, not a judgement (passed
// when both sides gave a value, inconclusive when one had no data, error
// when a query failed). The judge (health/judge: Mann–Whitney intervals,
// Kayenta's scoring) compares the two samples. The canary gates that
// count form one canary analysis with one score — monitor.judge sets pass,
// marginal, confidence, tolerance and min_points; each gate's judge
// section its direction (increase by default), allowed_increase,
// min_effect, weight, group… — while a dry-run canary gate is judged on
// its own, so that it never moves the score of the others. Each gate
// takes its share of the judgement: a gate whose metric passed passes; one
// that was high or low takes the judge's verdict (a failed canary fails
// it, and the stage fails, which makes the Pipeline abort the rollout; a
// marginal score is inconclusive); one without enough points is
// inconclusive unless the canary passed without it. The message carries
// the score and the judge's reason:
//
//	gate error-rate failed: canary score 0 (critical gate): error-rate: canary 3.01% vs baseline 0.40% (×7.5, HL shift +2.6pp, 98% CI [+2.4pp, +2.8pp]) — high (critical)
//
// The judgement is final at the stage's end, on all its points at the
// configured confidence. To fail fast, the judge also looks at the points
// before that — at min_points, then each time the samples have grown by a
// tenth — and a failure it finds there (a gate high or low, never one
// without enough data yet) fails the gate and ends the stage at once. The
// looks are judged at the confidence 1 − (1 − confidence)/looks, looks
// being how many the stage allows (Bonferroni), so that all of them
// together add at most the configured rate of false failures to the final
// judgement's: repeated looks at a growing sample would otherwise fail a
// good canary several times as often. A canary gate's points are all
// kept until the stage ends (the judge needs them): 16 bytes per interval.
//
// Outside a stage (Watch) there is no baseline deployment, nor in a stage
// whose baseline the deployer could not tell: the canary gates are then
// skipped — reported inconclusive, saying why, and left out of the
// window's verdict, which the other gates decide (a window that only
// skipped gates could have judged is inconclusive). New refuses a canary
// gate when Options.Rollout has no watched stage (the Pipeline would never
// compare anything), and a watched stage too short for min_points
// measurements (its canary gates could never be judged, and the rollout
// would stop there).
//
// A failed window is a shipprod.MonitorReport with VerdictFailed; the
// Pipeline then applies its failure policy (rollback, freeze or notify),
// which Options.Policy names. Time is read from the injected
// shipprod.Clock, so tests run a 24-hour window in moments, and only the
// last KeepMeasurements measurements of each gate are kept, so memory stays
// flat however long the window.
//
// Prometheus credentials come from the environment (password_env,
// bearer_token_env) and are masked in everything the monitor writes, even
// when a server repeats them. A prometheus.url with credentials in it
// (http://user:password@…) is refused: the URL itself appears in plans,
// reports and errors.
package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-multierror"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/health"
	"github.com/shipprod/shipprod/health/prometheus"
)

// Metrics is where query and alerts gates read: *prometheus.Client, or an
// importer's adapter to another metrics system.
type Metrics interface {
	Query(ctx context.Context, query string, at time.Time) (prometheus.Result, error)
	Alerts(ctx context.Context) ([]prometheus.Alert, error)
}

// Options are the run-time things a Monitor needs. Every field is optional.
type Options struct {
	// Clock times the window (default the system clock).
	Clock shipprod.Clock
	// Logger receives diagnostics (default: discard).
	Logger *slog.Logger
	// HTTPClient is used for Prometheus (default http.DefaultClient).
	HTTPClient *http.Client
	// Getenv reads the secrets named in the configuration (default os.Getenv).
	Getenv func(string) string
	// Health holds the checks that health gates repeat.
	Health *health.Checker
	// Metrics replaces the Prometheus client built from Config.Prometheus.
	Metrics Metrics
	// OnMeasurement, when set, is called with every measurement as it is
	// taken (synchronously: it must not block for long).
	OnMeasurement func(Measurement)
	// Policy is the Pipeline's failure policy (shipprod.Pipeline.OnFailure),
	// which plans and dry-run gates name ("would have rolled back"); the
	// Monitor itself only reports.
	Policy shipprod.FailurePolicy
	// Rollout is the Pipeline's rollout (shipprod.Pipeline.Rollout). A
	// compare: canary gate needs one with a watched stage, each watched
	// stage long enough for monitor.judge.min_points: New refuses it
	// otherwise.
	Rollout *shipprod.Rollout
}

// Monitor watches production after a deploy. It implements shipprod.Monitor
// and shipprod.ActionPlanner and is safe for concurrent use: each Watch has
// its own state.
type Monitor struct {
	cfg     Config
	gates   []*gate
	metrics Metrics
	promURL string
	clock   shipprod.Clock
	log     *slog.Logger
	onMeas  func(Measurement)
	secrets *strings.Replacer
	// onFailure is the Pipeline's failure policy, for plans and dry runs.
	onFailure shipprod.FailurePolicy
	// canary are the compare: canary gates, in the groups judged together.
	canary []*canaryGroup
}

var (
	_ shipprod.Monitor        = (*Monitor)(nil)
	_ shipprod.StageWatcher   = (*Monitor)(nil)
	_ shipprod.ActionPlanner  = (*Monitor)(nil)
	_ shipprod.MonitorPlanner = (*Monitor)(nil)
)

// New builds a Monitor. It validates the whole configuration and reports
// every problem at once, each naming the gate and the key.
func New(cfg Config, opts Options) (*Monitor, error) {
	m := &Monitor{cfg: cfg, clock: opts.Clock, log: opts.Logger, onMeas: opts.OnMeasurement, metrics: opts.Metrics, onFailure: opts.Policy}
	if m.clock == nil {
		m.clock = shipprod.SystemClock()
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	var errs *multierror.Error
	fail := func(format string, args ...any) { errs = multierror.Append(errs, fmt.Errorf(format, args...)) }

	m.applyDefaults(fail)
	m.setupPrometheus(opts.HTTPClient, getenv, fail)
	m.addGates(opts.Health, fail)
	m.setupJudge(opts.Rollout, fail)
	if errs != nil {
		return nil, configError(errs)
	}
	return m, nil
}

// applyDefaults fills in the window, interval and measurements kept, and
// reports settings that cannot work.
func (m *Monitor) applyDefaults(fail func(string, ...any)) {
	if m.cfg.Window < 0 || m.cfg.Interval < 0 || m.cfg.InitialDelay < 0 || m.cfg.KeepMeasurements < 0 {
		fail("monitor.window, interval, initial_delay and keep_measurements must not be negative")
	}
	if m.cfg.Window == 0 {
		m.cfg.Window = DefaultWindow
	}
	if m.cfg.Interval == 0 {
		m.cfg.Interval = DefaultInterval
	}
	if m.cfg.KeepMeasurements == 0 {
		m.cfg.KeepMeasurements = DefaultKeepMeasurements
	}
	if d := m.cfg.DashboardURL; d != "" {
		u, err := url.Parse(d)
		switch {
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
			fail("monitor.dashboard_url %q is not an absolute http(s) URL", d)
		case u.User != nil:
			fail("monitor.dashboard_url must not carry credentials: it is printed in plans and reports")
		}
	}
	if m.cfg.InitialDelay >= m.cfg.Window {
		fail("monitor.initial_delay %s leaves nothing of the %s window to measure", m.cfg.InitialDelay, m.cfg.Window)
	}
	if len(m.cfg.Gates) == 0 {
		fail("monitor.gates is empty: give at least one gate (health, query or alerts)")
	}
}

// setupPrometheus builds the Prometheus client, when the configuration
// needs one and no Metrics was given, and the masking of its secrets.
// Credentials in the URL are refused rather than masked: the URL is copied
// into plans, reports and errors, and shipprod.yaml is usually committed.
func (m *Monitor) setupPrometheus(hc *http.Client, getenv func(string) string, fail func(string, ...any)) {
	pc := m.cfg.Prometheus
	var secrets []string
	urlOK := true
	if userInfo(pc.URL) {
		urlOK = false
		fail("monitor.prometheus.url %q holds credentials (user info before @): set username and password_env (the name of the environment variable holding the password) or bearer_token_env instead",
			redactUserInfo(pc.URL))
	}
	if urlOK && m.metrics == nil && pc.URL != "" {
		client, s, err := newPrometheusClient(pc, hc, getenv)
		secrets = s
		if err != nil {
			fail("monitor.prometheus: %v", err)
		} else {
			m.metrics = client
		}
	}
	m.promURL = redactUserInfo(pc.URL)
	var pairs []string
	for _, s := range secrets {
		if s != "" {
			pairs = append(pairs, s, health.Mask)
		}
	}
	m.secrets = strings.NewReplacer(pairs...)
}

// addGates validates the gates; names must be unique.
func (m *Monitor) addGates(checker *health.Checker, fail func(string, ...any)) {
	// A URL that is set but wrong is reported once, by setupPrometheus,
	// not again by every gate that needs it.
	haveMetrics := m.metrics != nil || m.cfg.Prometheus.URL != ""
	seen := map[string]bool{}
	for i, gc := range m.cfg.Gates {
		where := gateWhere(i, gc.Name)
		name := strings.TrimSpace(gc.Name)
		if name != "" && seen[name] {
			fail("%s: name %q is used by another gate; names must be unique", where, name)
		}
		seen[name] = true
		g, err := newGate(gc, m.cfg.DryRun, checker, haveMetrics)
		if err != nil {
			fail("%s: %v", where, err)
			continue
		}
		g.where = where
		m.gates = append(m.gates, g)
	}
}

// gateWhere names a gate in configuration errors: "monitor.gates[2]
// (error-rate)".
func gateWhere(i int, name string) string {
	where := fmt.Sprintf("monitor.gates[%d]", i)
	if name != "" {
		where += " (" + name + ")"
	}
	return where
}

// configError lists the problems of the configuration, one a line.
func configError(errs *multierror.Error) error {
	if len(errs.Errors) == 1 {
		return errs.Errors[0]
	}
	lines := []string{fmt.Sprintf("%d problems in the monitor configuration:", len(errs.Errors))}
	for _, e := range errs.Errors {
		lines = append(lines, "  - "+e.Error())
	}
	return errors.New(strings.Join(lines, "\n"))
}

func newPrometheusClient(c PrometheusConfig, hc *http.Client, getenv func(string) string) (*prometheus.Client, []string, error) {
	client := &prometheus.Client{URL: strings.TrimRight(c.URL, "/"), HTTPClient: hc, Header: http.Header{}, Timeout: c.Timeout}
	if client.Timeout == 0 {
		client.Timeout = DefaultPrometheusTimeout
	}
	if client.Timeout < 0 {
		return nil, nil, errors.New("timeout must not be negative")
	}
	if !strings.HasPrefix(c.URL, "http://") && !strings.HasPrefix(c.URL, "https://") {
		return nil, nil, fmt.Errorf("url %q must be an http or https URL", redactUserInfo(c.URL))
	}
	for k, v := range c.Headers {
		client.Header.Set(k, v)
	}
	var secrets []string
	if c.BearerTokenEnv != "" {
		tok := getenv(c.BearerTokenEnv)
		if tok == "" {
			return nil, nil, fmt.Errorf("bearer_token_env: environment variable %s is empty or unset", c.BearerTokenEnv)
		}
		secrets = append(secrets, tok)
		client.Header.Set("Authorization", "Bearer "+tok)
	}
	if c.PasswordEnv != "" || c.Username != "" {
		pw := getenv(c.PasswordEnv)
		if c.Username == "" || pw == "" {
			return nil, secrets, fmt.Errorf("basic auth needs username and password_env (a set environment variable)")
		}
		secrets = append(secrets, pw)
		req, _ := http.NewRequest(http.MethodGet, "http://x", nil)
		req.SetBasicAuth(c.Username, pw)
		client.Header.Set("Authorization", req.Header.Get("Authorization"))
		secrets = append(secrets, strings.TrimPrefix(req.Header.Get("Authorization"), "Basic "))
	}
	return client, secrets, nil
}

// userInfo reports whether a URL carries user info. Any @ before the query
// counts, even one that a URL parser would put in the path (a password with
// a / in it): when in doubt, refuse.
func userInfo(raw string) bool {
	_, info, _ := splitUserInfo(raw)
	return info != ""
}

// redactUserInfo returns raw with its user info, if any, replaced by the
// mask, however malformed the URL ("admin:pw@host" has no scheme).
func redactUserInfo(raw string) string {
	prefix, info, rest := splitUserInfo(raw)
	if info == "" {
		return raw
	}
	return prefix + health.Mask + rest
}

// splitUserInfo splits raw into what comes before the user info (the
// scheme and "://"), the user info up to the last @ before any ? or #, and
// the rest, from that @.
func splitUserInfo(raw string) (prefix, info, rest string) {
	body := raw
	if i := strings.Index(raw, "://"); i >= 0 {
		prefix, body = raw[:i+3], raw[i+3:]
	}
	end := len(body)
	if i := strings.IndexAny(body, "?#"); i >= 0 {
		end = i
	}
	at := strings.LastIndex(body[:end], "@")
	if at < 0 {
		return raw, "", ""
	}
	return prefix, body[:at], body[at:]
}

// policy is what the Pipeline does when the window fails, as Options.Policy
// says (rollback when unset): plans and dry-run gates name it.
func (m *Monitor) policy() shipprod.FailurePolicy {
	if m.onFailure == "" {
		return shipprod.PolicyRollback
	}
	return m.onFailure
}

// String describes the Monitor in plans and messages.
func (m *Monitor) String() string {
	return fmt.Sprintf("monitor (%d gates over %s)", len(m.gates), m.cfg.Window)
}

// PlanActions lists the watch the Monitor will make: read-only.
func (m *Monitor) PlanActions(ctx context.Context, rel shipprod.Release) ([]shipprod.Action, error) {
	var gates []string
	for _, g := range m.gates {
		gates = append(gates, g.describe())
	}
	every := fmt.Sprintf("every %s", m.cfg.Interval)
	if m.cfg.InitialDelay > 0 {
		every += fmt.Sprintf(" after %s", m.cfg.InitialDelay)
	}
	target := "production"
	if m.promURL != "" {
		target = m.promURL
	}
	return []shipprod.Action{{
		Kind:   shipprod.ActionWatch,
		Target: target,
		Description: fmt.Sprintf("watch production for %s (%s) with gates: %s; on failure: %s",
			m.cfg.Window, every, strings.Join(gates, "; "), m.policy()),
	}}, nil
}

// noDataPrefix marks a baseline error that is "no data" rather than a
// failure of the metrics source.
const noDataPrefix = "no data: "

// Baseline measures, before the deploy, every gate that compares with a
// baseline. A gate whose baseline cannot be measured is listed in Errors
// (its measurements will then be errors, or no data per its policy) and the
// returned error says why; the Pipeline ships anyway, with a warning.
func (m *Monitor) Baseline(ctx context.Context, rel shipprod.Release) (shipprod.MonitorBaseline, error) {
	base := shipprod.MonitorBaseline{CapturedAt: m.clock.Now()}
	var errs *multierror.Error
	for _, g := range m.gates {
		if !g.needsBaseline() {
			continue
		}
		q := g.cfg.BaselineQuery
		if q == "" {
			q = g.cfg.Query
		}
		v, ok, detail, err := m.queryValue(ctx, q)
		switch {
		case err != nil:
			if base.Errors == nil {
				base.Errors = map[string]string{}
			}
			base.Errors[g.name] = m.mask(err.Error())
			errs = multierror.Append(errs, fmt.Errorf("gate %s: %s", g.name, base.Errors[g.name]))
		case !ok:
			if base.Errors == nil {
				base.Errors = map[string]string{}
			}
			base.Errors[g.name] = noDataPrefix + detail
			errs = multierror.Append(errs, fmt.Errorf("gate %s: %s", g.name, base.Errors[g.name]))
		default:
			if base.Values == nil {
				base.Values = map[string]float64{}
			}
			base.Values[g.name] = v
		}
		m.log.Info("monitor baseline", "gate", g.name, "value", v, "ok", ok, "detail", detail, "error", base.Errors[g.name])
	}
	if errs == nil {
		return base, nil
	}
	msgs := make([]string, len(errs.Errors))
	for i, e := range errs.Errors {
		msgs[i] = e.Error()
	}
	return base, errors.New(strings.Join(msgs, "; "))
}

func (m *Monitor) mask(s string) string { return m.secrets.Replace(s) }

// Report is a MonitorReport with the detail behind it.
type Report struct {
	shipprod.MonitorReport
	Baseline shipprod.MonitorBaseline `json:"baseline"`
	// Measurements holds the last KeepMeasurements measurements of each
	// gate, oldest first.
	Measurements map[string][]Measurement `json:"measurements"`
}

// Watch watches production for the window and returns the verdict. A failed
// window is a report with VerdictFailed, not an error; the error is non-nil
// only when ctx ends before the window does (the report then holds what was
// measured so far). Outside a rollout there is no baseline deployment, so
// compare: canary gates are skipped: reported inconclusive, they do not
// count toward the verdict.
func (m *Monitor) Watch(ctx context.Context, rel shipprod.Release, dep shipprod.Deployment, base shipprod.MonitorBaseline) (shipprod.MonitorReport, error) {
	r, err := m.WatchReport(ctx, rel, dep, base)
	return r.MonitorReport, err
}

// WatchReport is Watch returning the measurements too.
func (m *Monitor) WatchReport(ctx context.Context, rel shipprod.Release, dep shipprod.Deployment, base shipprod.MonitorBaseline) (Report, error) {
	return m.run(ctx, &watchRun{rel: rel, dep: dep, base: base,
		timing:     timing{window: m.cfg.Window, delay: m.cfg.InitialDelay, interval: m.cfg.Interval},
		skipCanary: "outside a rollout stage there is no baseline deployment to compare the canary with"})
}

// WatchStage watches one stage of a rollout (shipprod.StageWatcher): the
// same gates as Watch, over the stage's window (the monitor's own when the
// stage has none), with the configured initial delay and interval capped
// to it; each measurement's progress names the stage. The compare: canary
// gates measure the canary, dep, and stage.Baseline, the deployment that
// serves the rest of the traffic, and the judge compares them (see the
// package doc). Without a baseline deployment they are skipped.
func (m *Monitor) WatchStage(ctx context.Context, rel shipprod.Release, dep shipprod.Deployment, base shipprod.MonitorBaseline, stage shipprod.StageInfo) (shipprod.MonitorReport, error) {
	r, err := m.WatchStageReport(ctx, rel, dep, base, stage)
	return r.MonitorReport, err
}

// WatchStageReport is WatchStage returning the measurements too.
func (m *Monitor) WatchStageReport(ctx context.Context, rel shipprod.Release, dep shipprod.Deployment, base shipprod.MonitorBaseline, stage shipprod.StageInfo) (Report, error) {
	r := &watchRun{rel: rel, dep: dep, base: base, timing: m.stageTiming(stage.Stage.Watch), stage: &stage,
		label: fmt.Sprintf("stage %d/%d (%s)", stage.Index+1, stage.Of, stage.Stage)}
	if stage.Baseline == nil {
		r.skipCanary = "what production ran before the release is unknown (the deployer does not say: shipprod.ProductionReader), so there is no baseline deployment to compare the canary with"
	}
	return m.run(ctx, r)
}

// watchRun is one window: Watch's or a stage's.
type watchRun struct {
	rel  shipprod.Release
	dep  shipprod.Deployment
	base shipprod.MonitorBaseline
	timing
	// stage is the stage watched, nil for Watch; label names it in
	// progress ("stage 2/3 (25%)").
	stage *shipprod.StageInfo
	label string
	// skipCanary, when set, is why the canary gates are skipped.
	skipCanary string
	canary     []*canaryJudging
}

// run watches one window and returns the verdict.
func (m *Monitor) run(ctx context.Context, r *watchRun) (Report, error) {
	start := m.clock.Now()
	end := start.Add(r.window)
	states := m.newStates(r)
	m.log.Info("monitor window started", "window", r.window, "interval", r.interval, "gates", len(m.gates), "stage", r.label)

	var (
		interrupted error
		// ended says which gate's failure ended the window early, if one did.
		ended windowEnd
	)
	next := start.Add(r.delay)
	results := make([]Measurement, len(states))
	for !next.After(end) {
		if d := next.Sub(m.clock.Now()); d > 0 {
			if err := m.clock.Sleep(ctx, d); err != nil {
				interrupted = err
				break
			}
		}
		if err := ctx.Err(); err != nil {
			interrupted = err
			break
		}
		m.measureRound(ctx, states, results, r)
		if err := ctx.Err(); err != nil {
			interrupted = err
			break
		}
		last := next.Add(r.interval).After(end)
		if running := m.recordRound(ctx, r, start, states, results, &ended, last); ended.by != nil || running == 0 {
			break
		}
		next = next.Add(r.interval)
	}
	m.finish(r, states)
	rep := m.report(r, states, start, ended, interrupted)
	if interrupted != nil {
		return rep, fmt.Errorf("monitor interrupted after %s of %s: %w", rep.FinishedAt.Sub(start), r.window, interrupted)
	}
	return rep, nil
}

// newStates prepares the gates for a window: the canary gates are skipped,
// or their queries rendered for the canary and the baseline and their
// judging prepared.
func (m *Monitor) newStates(r *watchRun) []*gateState {
	states := make([]*gateState, len(m.gates))
	canary := false
	for i, g := range m.gates {
		st := newGateState(g, m.cfg.KeepMeasurements, m.policy())
		st.index = i
		states[i] = st
		if !g.canary() {
			continue
		}
		if r.skipCanary != "" {
			st.skip(r.skipCanary)
			continue
		}
		canary = true
		st.cs = &canaryState{}
		queries, err := canaryQueries(g.tmpl, r.rel, r.dep, *r.stage.Baseline)
		if err != nil {
			st.decide(shipprod.VerdictInconclusive, "cannot measure: "+err.Error())
			m.logVerdict(st)
			continue
		}
		st.cs.queries = queries
		m.log.Info("monitor canary gate", "gate", g.name, "canary_query", queries[0], "baseline_query", queries[1])
	}
	if canary {
		r.canary = m.newCanaryJudging(states, r.rounds())
	}
	return states
}

// finish decides the gates still running when the window ends: the canary
// gates by the judge, on all their points; the others by their counts.
func (m *Monitor) finish(r *watchRun, states []*gateState) {
	var open []*gateState
	for _, st := range states {
		if st.verdict == "" {
			open = append(open, st)
		}
	}
	for _, cj := range r.canary {
		cj.decide()
	}
	for _, st := range open {
		if st.verdict == "" {
			st.finish()
		}
		m.logVerdict(st)
	}
}

// windowEnd is the gate whose failure ended the window early, and when.
type windowEnd struct {
	by *gateState
	at time.Time
}

// measureRound measures every gate still running, concurrently: a slow
// metrics source does not delay the health checks. Gate i's measurement
// goes to results[i].
func (m *Monitor) measureRound(ctx context.Context, states []*gateState, results []Measurement, r *watchRun) {
	var wg sync.WaitGroup
	for i, st := range states {
		if st.verdict != "" {
			continue
		}
		wg.Go(func() { results[i] = m.measure(ctx, st, r) })
	}
	wg.Wait()
}

// recordRound records a round's measurements, notes in ended a failed gate
// that ends the window, and returns how many gates are still running.
// Before the last round, the judge takes an interim look at the canary
// gates' points: a failure it finds is this round's measurement.
func (m *Monitor) recordRound(ctx context.Context, r *watchRun, start time.Time, states []*gateState, results []Measurement, ended *windowEnd, last bool) int {
	for _, st := range states {
		if st.cs != nil && st.verdict == "" {
			st.cs.add(results[st.index])
		}
	}
	if !last {
		for _, cj := range r.canary {
			cj.look(results)
		}
	}
	running := 0
	for i, st := range states {
		if st.verdict != "" {
			continue
		}
		meas := results[i]
		meas.Gate, meas.At = st.g.name, m.clock.Now()
		st.record(meas)
		m.log.Debug("monitor measurement", "gate", meas.Gate, "phase", meas.Phase, "message", meas.Message)
		if m.onMeas != nil {
			m.onMeas(meas)
		}
		m.tell(ctx, r, start, meas)
		if st.verdict == "" {
			running++
			continue
		}
		m.logVerdict(st)
		// Failed is the worst verdict, so a gate that counts and has failed
		// decides the window: nothing measured later can change it, and
		// every further minute leaves the degraded release in production. A
		// critical gate that fails in the same round is named first.
		if st.verdict == shipprod.VerdictFailed && !st.g.dryRun && (ended.by == nil || st.g.critical && !ended.by.g.critical) {
			ended.by, ended.at = st, meas.At
		}
	}
	return running
}

// report assembles the window's report and verdict.
func (m *Monitor) report(r *watchRun, states []*gateState, start time.Time, ended windowEnd, interrupted error) Report {
	rep := Report{Baseline: r.base, Measurements: map[string][]Measurement{}}
	rep.StartedAt, rep.FinishedAt, rep.Window = start, m.clock.Now(), r.window
	for _, st := range states {
		rep.Gates = append(rep.Gates, st.result())
		rep.Measurements[st.g.name] = st.kept()
	}
	endedText := ""
	if ended.by != nil {
		kind := "gate"
		if ended.by.g.critical {
			kind = "critical gate"
		}
		endedText = fmt.Sprintf("%s %s failed at %s of %s and ended the window", kind, ended.by.g.name, ended.at.Sub(start), r.window)
		m.log.Warn("monitor window ended early", "gate", ended.by.g.name, "critical", ended.by.g.critical, "at", ended.at, "after", ended.at.Sub(start))
	}
	rep.Verdict, rep.Reason = verdict(states, endedText, r.window, rep.FinishedAt.Sub(start), interrupted)
	m.log.Info("monitor window ended", "verdict", rep.Verdict, "reason", rep.Reason)
	return rep
}

func (m *Monitor) logVerdict(st *gateState) {
	level := slog.LevelInfo
	if st.verdict != shipprod.VerdictPassed {
		level = slog.LevelWarn
	}
	m.log.Log(context.Background(), level, "monitor gate decided", "gate", st.g.name, "verdict", st.verdict, "dry_run", st.g.dryRun, "message", st.message)
}

// verdict is the worst verdict of the gates that count — neither dry-run
// nor skipped — and why. ended, when set, says which gate ended the window
// early, and when.
func verdict(states []*gateState, ended string, window, elapsed time.Duration, interrupted error) (shipprod.Verdict, string) {
	rank := map[shipprod.Verdict]int{shipprod.VerdictPassed: 0, shipprod.VerdictInconclusive: 1, shipprod.VerdictError: 2, shipprod.VerdictFailed: 3}
	v, counted := shipprod.VerdictPassed, 0
	for _, st := range states {
		if st.counts() {
			counted++
			if rank[st.verdict] > rank[v] {
				v = st.verdict
			}
		}
	}
	var reasons []string
	// Critical failures first, then the others in configuration order.
	ordered := slices.Clone(states)
	sort.SliceStable(ordered, func(i, j int) bool { return ordered[i].g.critical && !ordered[j].g.critical })
	for _, st := range ordered {
		if st.counts() && st.verdict == v && v != shipprod.VerdictPassed {
			reasons = append(reasons, st.message)
		}
	}
	switch {
	case interrupted != nil:
		reasons = append([]string{fmt.Sprintf("interrupted after %s of %s (%v)", elapsed, window, interrupted)}, reasons...)
		if v == shipprod.VerdictPassed {
			v = shipprod.VerdictInconclusive
		}
	case ended != "":
		reasons = append(reasons, ended)
	case v == shipprod.VerdictPassed:
		v, reasons = passedReason(states, counted, elapsed)
	}
	if v == shipprod.VerdictError {
		reasons = append(reasons, "the metrics source failed; production was not judged unhealthy")
	}
	for _, st := range states {
		if !st.counts() && st.verdict != shipprod.VerdictPassed {
			reasons = append(reasons, st.message)
		}
	}
	return v, strings.Join(reasons, "; ")
}

// passedReason says why a window whose counted gates all passed passed —
// or, when no gate counted, why nothing judged it.
func passedReason(states []*gateState, counted int, elapsed time.Duration) (shipprod.Verdict, []string) {
	if counted > 0 {
		return shipprod.VerdictPassed, []string{fmt.Sprintf("all %d gates passed over %s", counted, elapsed.Round(time.Millisecond))}
	}
	for _, st := range states {
		if st.skipped && !st.g.dryRun {
			// Only skipped gates could have judged it: nothing did.
			return shipprod.VerdictInconclusive, []string{"no gate could judge the window"}
		}
	}
	return shipprod.VerdictPassed, []string{"every gate is dry-run: nothing can fail the window"}
}

// tell reports a measurement as the step's progress: the gate, what was
// measured, and how much of the window has passed and is left. In a stage,
// the message names the stage and says it: "stage 2/3 (25%): error-rate:
// value 0.4% vs threshold 1% — 3m0s of 10m0s".
func (m *Monitor) tell(ctx context.Context, r *watchRun, start time.Time, meas Measurement) {
	elapsed := meas.At.Sub(start)
	msg := fmt.Sprintf("%s: %s", meas.Gate, meas.Message)
	if r.label != "" {
		// On a real clock, "3m0s of 10m0s" rather than "3m0.004117s of 10m0s".
		shown := elapsed.Round(time.Second)
		if r.window < time.Minute {
			shown = elapsed.Round(10 * time.Millisecond)
		}
		msg = fmt.Sprintf("%s: %s — %s of %s", r.label, msg, shown, r.window)
	}
	status := shipprod.HealthPass
	switch meas.Phase {
	case shipprod.VerdictFailed:
		status = shipprod.HealthFail
	case shipprod.VerdictInconclusive, shipprod.VerdictError:
		status = shipprod.HealthWarn
	}
	shipprod.ReportProgress(ctx, shipprod.Progress{
		Message: msg, Status: status,
		Elapsed: elapsed, Remaining: max(r.window-elapsed, 0),
	})
}

// MonitorPlan states what the Monitor watches (shipprod.MonitorPlanner),
// for the plan and the ship report.
func (m *Monitor) MonitorPlan() shipprod.MonitorPlan {
	plan := shipprod.MonitorPlan{Window: m.cfg.Window, Interval: m.cfg.Interval, InitialDelay: m.cfg.InitialDelay, DashboardURL: m.cfg.DashboardURL}
	for _, g := range m.gates {
		plan.Gates = append(plan.Gates, shipprod.MonitorGatePlan{Name: g.name, Kind: g.kind, Query: g.cfg.Query,
			Condition: g.condition(), Critical: g.critical, DryRun: g.dryRun})
	}
	return plan
}
