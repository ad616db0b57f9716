package shipprod_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/gate"
	"github.com/shipprod/shipprod/shipprodtest"
)

// calls records which step implementations were called, in order.
type calls struct {
	mu  sync.Mutex
	log []string
}

func (c *calls) add(s string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.log = append(c.log, s)
}

func (c *calls) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.log...)
}

type fakeVersioner struct {
	c        *calls
	next     shipprod.Release
	nextErr  error
	applyErr error
}

func (v *fakeVersioner) NextVersion(ctx context.Context) (shipprod.Release, error) {
	v.c.add("next")
	return v.next, v.nextErr
}

func (v *fakeVersioner) ApplyVersion(ctx context.Context, rel shipprod.Release) (shipprod.Release, error) {
	v.c.add("apply " + rel.Version)
	if v.applyErr != nil {
		return rel, v.applyErr
	}
	rel.Commit = "c0ffee"
	return rel, nil
}

func (v *fakeVersioner) PlanActions(ctx context.Context, rel shipprod.Release) ([]shipprod.Action, error) {
	return []shipprod.Action{
		{Kind: shipprod.ActionWriteFile, Target: "VERSION", Description: "write VERSION"},
		{Kind: shipprod.ActionCommit, Target: rel.Version, Description: "commit chore(release): " + rel.Tag},
	}, nil
}

type fakeTagger struct{ c *calls }

func (f fakeTagger) Tag(ctx context.Context, rel shipprod.Release) (shipprod.Release, error) {
	f.c.add("tag " + rel.Tag + " at " + rel.Commit)
	rel.ReleaseURL = "https://example.com/releases/" + rel.Tag
	return rel, nil
}

type fakeDeployer struct {
	c         *calls
	err       error
	changed   bool
	rbErr     error
	restoreTo *shipprod.Release
}

func (f *fakeDeployer) Deploy(ctx context.Context, rel shipprod.Release) (shipprod.Deployment, error) {
	f.c.add("deploy " + rel.Tag)
	dep := shipprod.Deployment{Provider: "fake", ID: "dep-" + rel.Version, PreviousID: "dep-old"}
	if f.changed {
		return dep, &shipprod.ProductionChangedError{Deployment: dep, Err: f.err}
	}
	if f.err != nil {
		return shipprod.Deployment{}, f.err
	}
	return dep, nil
}

func (f *fakeDeployer) String() string { return "fake" }

// rollbackDeployer adds the Rollbacker capability.
type rollbackDeployer struct{ *fakeDeployer }

func (f rollbackDeployer) Rollback(ctx context.Context, failed shipprod.Deployment, to shipprod.Release) (shipprod.Deployment, error) {
	f.c.add("rollback " + failed.ID + " to " + to.Tag)
	f.restoreTo = &to
	if f.rbErr != nil {
		return shipprod.Deployment{}, f.rbErr
	}
	return shipprod.Deployment{Provider: "fake", ID: "dep-" + to.Version}, nil
}

// fakeHealth fails for the versions listed in unhealthy.
type fakeHealth struct {
	c         *calls
	unhealthy map[string]bool
}

func (f fakeHealth) Check(ctx context.Context, rel shipprod.Release, dep shipprod.Deployment) (shipprod.HealthReport, error) {
	f.c.add("health " + rel.Version + " " + dep.ID)
	st := shipprod.HealthPass
	msg := ""
	if f.unhealthy[rel.Version] {
		st, msg = shipprod.HealthFail, "status 503, want 200"
	}
	return shipprod.HealthReport{Checks: []shipprod.CheckResult{{Name: "api", Kind: "http", Target: "http://x/health", Status: st, Attempts: 1, Error: msg}}}, nil
}

type fakeReporter struct {
	c       *calls
	written []shipprod.Result
}

func (f *fakeReporter) WriteReport(ctx context.Context, res shipprod.Result) ([]string, error) {
	f.c.add(fmt.Sprintf("report %s", res.Outcome))
	f.written = append(f.written, res)
	return []string{"report.md"}, nil
}

type fakeMonitor struct {
	c        *calls
	verdict  shipprod.Verdict
	baseErr  error
	clock    *shipprodtest.Clock
	window   time.Duration
	gotBase  shipprod.MonitorBaseline
	watchErr error
	during   func()
}

func (f *fakeMonitor) Baseline(ctx context.Context, rel shipprod.Release) (shipprod.MonitorBaseline, error) {
	f.c.add("baseline")
	return shipprod.MonitorBaseline{Values: map[string]float64{"error-rate": 0.5}}, f.baseErr
}

func (f *fakeMonitor) Watch(ctx context.Context, rel shipprod.Release, dep shipprod.Deployment, base shipprod.MonitorBaseline) (shipprod.MonitorReport, error) {
	f.c.add("watch " + dep.ID)
	f.gotBase = base
	if f.during != nil {
		f.during()
	}
	if f.watchErr != nil {
		return shipprod.MonitorReport{}, f.watchErr
	}
	start := f.clock.Now()
	if err := f.clock.Sleep(ctx, f.window); err != nil {
		return shipprod.MonitorReport{}, err
	}
	r := shipprod.MonitorReport{StartedAt: start, FinishedAt: f.clock.Now(), Window: f.window, Verdict: f.verdict}
	if f.verdict == shipprod.VerdictFailed {
		r.Reason = "gate error-rate failed: value 3.2% vs threshold 1.5% (baseline 0.5%)"
	}
	if f.verdict == shipprod.VerdictError {
		r.Reason = "prometheus unreachable"
	}
	return r, nil
}

type fixture struct {
	calls    *calls
	clock    *shipprodtest.Clock
	rec      *shipprodtest.Recorder
	ver      *fakeVersioner
	dep      *fakeDeployer
	health   fakeHealth
	reporter *fakeReporter
	monitor  *fakeMonitor
	p        *shipprod.Pipeline
}

func newFixture() *fixture {
	c := &calls{}
	clock := shipprodtest.NewClock(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	f := &fixture{
		calls: c, clock: clock, rec: &shipprodtest.Recorder{},
		ver: &fakeVersioner{c: c, next: shipprod.Release{Version: "1.3.0", PreviousVersion: "1.2.0", Tag: "v1.3.0", PreviousTag: "v1.2.0", Bump: shipprod.BumpMinor}},
		dep: &fakeDeployer{c: c}, health: fakeHealth{c: c, unhealthy: map[string]bool{}},
		reporter: &fakeReporter{c: c},
	}
	f.monitor = &fakeMonitor{c: c, verdict: shipprod.VerdictPassed, clock: clock, window: 30 * time.Minute}
	f.p = &shipprod.Pipeline{
		Gates:     gate.Static("test", gate.Approved("staging_validation")),
		Versioner: f.ver,
		Tagger:    fakeTagger{c},
		Deployer:  rollbackDeployer{f.dep},
		Health:    f.health,
		Reporter:  f.reporter,
		Monitor:   f.monitor,
		Observer:  f.rec,
		Clock:     clock,
	}
	return f
}

func TestRunShipsInOrder(t *testing.T) {
	f := newFixture()
	res, err := f.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, shipprod.OutcomeShipped, res.Outcome)
	assert.Equal(t, []string{
		"next", "apply 1.3.0", "tag v1.3.0 at c0ffee", "baseline", "deploy v1.3.0", "health 1.3.0 dep-1.3.0",
		"report shipped", "watch dep-1.3.0", "report shipped",
	}, f.calls.list())
	assert.Equal(t, []string{
		"gates:started", "gates:finished", "preflight:skipped", "version:started", "version:finished", "tag:started", "tag:finished",
		"baseline:started", "baseline:finished", "deploy:started", "deploy:finished", "health:started", "health:finished",
		"report:started", "report:finished", "rollout:skipped", "monitor:started", "monitor:finished", "rollback:skipped",
		"final-report:started", "final-report:finished", "archive:skipped", "notify:skipped",
	}, f.rec.Trace())
	assert.Equal(t, "https://example.com/releases/v1.3.0", res.Release.ReleaseURL)
	assert.Equal(t, "c0ffee", res.Release.Commit)
	require.NotNil(t, res.Monitor)
	assert.Equal(t, 0.5, f.monitor.gotBase.Values["error-rate"], "the monitor gets the baseline captured before the deploy")
	// The injected clock measured the 30-minute window.
	mon, ok := res.Step(shipprod.StepMonitor)
	require.True(t, ok)
	assert.Equal(t, 30*time.Minute, mon.Duration)
	for _, e := range f.rec.Events() {
		if e.Step == shipprod.StepMonitor && e.Kind == shipprod.EventFinished {
			assert.Equal(t, 30*time.Minute, e.Duration)
		}
		if e.Step == shipprod.StepTag && e.Kind == shipprod.EventStarted {
			assert.Equal(t, "Creating git tag v1.3.0", e.Title)
		}
		if e.Step == shipprod.StepVersion && e.Kind == shipprod.EventStarted {
			assert.Equal(t, "Bumping version 1.2.0 → 1.3.0", e.Title)
		}
	}
	// The final report saw the monitor's verdict.
	require.Len(t, f.reporter.written, 2)
	assert.Nil(t, f.reporter.written[0].Monitor)
	require.NotNil(t, f.reporter.written[1].Monitor)
}

func TestPlanListsWhatRunDoes(t *testing.T) {
	f := newFixture()
	plan, err := f.p.Plan(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"next"}, f.calls.list(), "Plan only decides the version; it runs no step")
	assert.Equal(t, "1.3.0", plan.Release.Version)

	res, err := f.p.Run(context.Background())
	require.NoError(t, err)
	var done []shipprod.Action
	for _, s := range res.Steps {
		done = append(done, s.Actions...)
	}
	assert.Equal(t, plan.Actions(), done)
	assert.NotEmpty(t, done)

	var rollback shipprod.PlannedStep
	for _, s := range plan.Steps {
		if s.Step == shipprod.StepRollback {
			rollback = s
		}
	}
	assert.NotEmpty(t, rollback.Condition, "the rollback is planned as conditional")
	assert.Contains(t, rollback.Actions[0].Description, "v1.2.0")
}

func TestNilStepsAreSkippedVisibly(t *testing.T) {
	c := &calls{}
	rec := &shipprodtest.Recorder{}
	p := &shipprod.Pipeline{
		Release:  shipprod.Release{Version: "2.0.0", Tag: "v2.0.0"},
		Deployer: &fakeDeployer{c: c},
		Observer: rec,
	}
	res, err := p.Run(context.Background())
	var nv *shipprod.NotVerifiedError
	require.ErrorAs(t, err, &nv, "live, but nothing verified it")
	assert.Equal(t, shipprod.OutcomeNotVerified, res.Outcome)
	assert.Equal(t, []string{"no health checks and no monitor are configured: nothing verified the release"}, res.NotVerified)
	assert.Equal(t, []string{"deploy v2.0.0"}, c.list())
	reasons := map[shipprod.StepName]string{}
	for _, s := range res.Steps {
		if s.Status == shipprod.StepSkipped {
			reasons[s.Step] = s.Reason
		}
	}
	assert.Equal(t, map[shipprod.StepName]string{
		"gates":        "no GateSource configured",
		"preflight":    "no step implementation has a pre-flight check",
		"version":      "no Versioner configured; shipping the release as given",
		"tag":          "no Tagger configured",
		"baseline":     "no Monitor configured",
		"health":       "no HealthChecker configured",
		"rollback":     "production was not found unhealthy",
		"report":       "no Reporter configured",
		"rollout":      "no rollout stages configured: the release goes to all traffic at once",
		"monitor":      "no Monitor configured",
		"final-report": "no report was written",
		"archive":      "no Archiver configured: the reports stay in the working tree",
		"notify":       "no Notifier configured",
	}, reasons)
	skipped := 0
	for _, e := range rec.Events() {
		if e.Kind == shipprod.EventSkipped {
			skipped++
			assert.NotEmpty(t, e.Reason)
		}
	}
	assert.Equal(t, len(reasons), skipped, "every skip is an event too")
	assert.Contains(t, res.Warnings, "no health checks are configured: nothing checks production right after the deploy")
}

func TestBlockedGateStopsEverything(t *testing.T) {
	f := newFixture()
	blocking := shipprod.GateResult{Name: "staging_validation", Source: "specs/001-x/state.yaml:9", Key: "manual_gates.staging_validation.status",
		Found: "pending", Required: "approved", Hint: "run /validate-staging"}
	f.p.Gates = gate.Static("state.yaml", gate.Approved("rollback"), blocking)
	res, err := f.p.Run(context.Background())
	var blocked *shipprod.GateBlockedError
	require.ErrorAs(t, err, &blocked)
	assert.Equal(t, []shipprod.GateResult{blocking}, blocked.Gates)
	assert.Contains(t, err.Error(), `manual_gates.staging_validation.status is "pending", want "approved" (run /validate-staging)`)
	assert.Equal(t, shipprod.OutcomeBlocked, res.Outcome)
	assert.Empty(t, f.calls.list(), "no step ran")
	for _, s := range res.Steps[1:] {
		assert.Equal(t, shipprod.StepSkipped, s.Status, s.Step)
	}

	plan, err := f.p.Plan(context.Background())
	require.ErrorAs(t, err, &blocked, "Plan reports the block too")
	assert.NotEmpty(t, plan.Actions(), "and still says what would happen once the gates pass")
}

func TestUnreadableGatesBlock(t *testing.T) {
	f := newFixture()
	cause := errors.New("state.yaml: not valid YAML")
	f.p.Gates = gate.Func(func(context.Context) (shipprod.GateReport, error) { return shipprod.GateReport{}, cause })
	res, err := f.p.Run(context.Background())
	var blocked *shipprod.GateBlockedError
	require.ErrorAs(t, err, &blocked)
	assert.ErrorIs(t, err, cause)
	assert.Equal(t, shipprod.OutcomeBlocked, res.Outcome)
	assert.Empty(t, f.calls.list())
}

func TestNothingToReleaseIsNotAnError(t *testing.T) {
	f := newFixture()
	f.ver.nextErr = fmt.Errorf("since v1.2.0 only chore commits: %w", shipprod.ErrNothingToRelease)
	res, err := f.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, shipprod.OutcomeNothingToRelease, res.Outcome)
	assert.Equal(t, []string{"next"}, f.calls.list())
	v, _ := res.Step(shipprod.StepVersion)
	assert.Contains(t, v.Reason, "only chore commits")
}

func TestStepFailureStopsTheRunAndIsReported(t *testing.T) {
	f := newFixture()
	cause := errors.New("remote hung up")
	f.dep.err = cause
	res, err := f.p.Run(context.Background())
	var se *shipprod.StepError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, shipprod.StepDeploy, se.Step)
	assert.ErrorIs(t, err, cause)
	assert.Equal(t, shipprod.OutcomeFailed, res.Outcome)
	assert.Equal(t, "deploy: remote hung up", res.Error)
	assert.Equal(t, "report failed", f.calls.list()[len(f.calls.list())-1], "the report says the release failed")
	require.Len(t, f.reporter.written, 1)
	assert.Equal(t, "deploy: remote hung up", f.reporter.written[0].Error)
	h, _ := res.Step(shipprod.StepHealth)
	assert.Equal(t, shipprod.StepSkipped, h.Status)
	assert.Equal(t, "an earlier step failed", h.Reason)
}

func TestUnhealthyDeployRollsBack(t *testing.T) {
	f := newFixture()
	f.health.unhealthy["1.3.0"] = true
	res, err := f.p.Run(context.Background())
	var hce *shipprod.HealthCheckError
	require.ErrorAs(t, err, &hce)
	assert.Contains(t, err.Error(), "api (http http://x/health): status 503, want 200")
	assert.Equal(t, shipprod.OutcomeRolledBack, res.Outcome)
	assert.Equal(t, []string{
		"next", "apply 1.3.0", "tag v1.3.0 at c0ffee", "baseline", "deploy v1.3.0", "health 1.3.0 dep-1.3.0",
		"rollback dep-1.3.0 to v1.2.0", "health 1.2.0 dep-1.2.0", "report rolled-back",
	}, f.calls.list(), "the restored version is health-checked, the report written, the monitor skipped")
	require.NotNil(t, res.Rollback)
	assert.Equal(t, "dep-1.2.0", res.Rollback.Restored.ID)
	require.NotNil(t, res.Rollback.Health)
	assert.True(t, res.Rollback.Health.OK())
	m, _ := res.Step(shipprod.StepMonitor)
	assert.Equal(t, "production was found unhealthy", m.Reason)
}

func TestFailurePolicies(t *testing.T) {
	tests := []struct {
		name       string
		policy     shipprod.FailurePolicy
		noRollback bool
		rbErr      error
		outcome    shipprod.Outcome
		reason     string
	}{
		{name: "freeze", policy: shipprod.PolicyFreeze, outcome: shipprod.OutcomeUnhealthy, reason: "policy freeze: production left as it is"},
		{name: "notify", policy: shipprod.PolicyNotify, outcome: shipprod.OutcomeUnhealthy, reason: "policy notify: production left as it is"},
		{name: "deployer cannot roll back", noRollback: true, outcome: shipprod.OutcomeUnhealthy, reason: "deployer fake cannot roll back"},
		{name: "rollback fails", rbErr: errors.New("lease is stale"), outcome: shipprod.OutcomeUnhealthy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture()
			f.health.unhealthy["1.3.0"] = true
			f.p.OnFailure = tt.policy
			n := &fakeNotifier{c: f.calls}
			if tt.policy == shipprod.PolicyNotify {
				f.p.Notifier = n // the notify policy needs someone to tell
			}
			f.dep.rbErr = tt.rbErr
			if tt.noRollback {
				f.p.Deployer = f.dep
			}
			res, err := f.p.Run(context.Background())
			var hce *shipprod.HealthCheckError
			require.ErrorAs(t, err, &hce)
			assert.Equal(t, tt.outcome, res.Outcome)
			rb, ok := res.Step(shipprod.StepRollback)
			require.True(t, ok)
			if tt.reason != "" {
				assert.Equal(t, shipprod.StepSkipped, rb.Status)
				assert.Equal(t, tt.reason, rb.Reason)
			}
			if tt.policy == shipprod.PolicyNotify {
				require.Len(t, n.sent, 1)
				assert.Equal(t, shipprod.OutcomeUnhealthy, n.sent[0].Outcome)
			}
			if tt.rbErr != nil {
				assert.ErrorIs(t, err, tt.rbErr, "the rollback's failure is returned too")
				assert.Equal(t, shipprod.StepFailed, rb.Status)
				require.NotNil(t, res.Rollback)
				assert.Contains(t, res.Rollback.Error, "lease is stale")
			}
		})
	}
}

func TestMonitorVerdicts(t *testing.T) {
	t.Run("failed rolls back and updates the report", func(t *testing.T) {
		f := newFixture()
		f.monitor.verdict = shipprod.VerdictFailed
		res, err := f.p.Run(context.Background())
		var me *shipprod.MonitorError
		require.ErrorAs(t, err, &me)
		assert.Contains(t, err.Error(), "gate error-rate failed: value 3.2% vs threshold 1.5% (baseline 0.5%)")
		assert.Equal(t, shipprod.OutcomeRolledBack, res.Outcome)
		assert.Contains(t, f.calls.list(), "rollback dep-1.3.0 to v1.2.0")
		assert.Equal(t, "report rolled-back", f.calls.list()[len(f.calls.list())-1], "the final report records the rollback")
	})
	t.Run("error leaves the release live but not verified", func(t *testing.T) {
		f := newFixture()
		f.monitor.verdict = shipprod.VerdictError
		res, err := f.p.Run(context.Background())
		var nv *shipprod.NotVerifiedError
		require.ErrorAs(t, err, &nv)
		assert.Equal(t, shipprod.OutcomeNotVerified, res.Outcome)
		assert.Equal(t, []string{"the monitor's verdict is error: prometheus unreachable"}, res.NotVerified)
		assert.NotContains(t, strings.Join(f.calls.list(), ","), "rollback", "a metrics outage is no reason to roll back")
	})
	t.Run("a monitor that cannot run leaves the release not verified, without a rollback", func(t *testing.T) {
		f := newFixture()
		f.monitor.watchErr = errors.New("bad query")
		res, err := f.p.Run(context.Background())
		var se *shipprod.StepError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, shipprod.StepMonitor, se.Step)
		assert.Equal(t, shipprod.OutcomeNotVerified, res.Outcome)
		assert.Equal(t, []string{"the monitor could not run: bad query"}, res.NotVerified)
		assert.NotContains(t, strings.Join(f.calls.list(), ","), "rollback")
		assert.Equal(t, "report not-verified", f.calls.list()[len(f.calls.list())-1], "the final report says so")
	})
}

func TestBaselineFailureIsAWarning(t *testing.T) {
	f := newFixture()
	f.monitor.baseErr = errors.New("prometheus: connection refused")
	res, err := f.p.Run(context.Background())
	require.NoError(t, err)
	assert.Contains(t, f.calls.list(), "deploy v1.3.0")
	require.NotEmpty(t, res.Warnings)
	assert.Contains(t, res.Warnings[0], "baseline not captured: prometheus: connection refused")
}

func TestCancelledContextStopsTheMonitor(t *testing.T) {
	f := newFixture()
	ctx, cancel := context.WithCancel(context.Background())
	f.p.Observer = shipprod.ObserverFunc(func(e shipprod.Event) {
		if e.Step == shipprod.StepMonitor && e.Kind == shipprod.EventStarted {
			cancel()
		}
	})
	res, err := f.p.Run(ctx)
	require.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, shipprod.OutcomeInterrupted, res.Outcome)
	m, _ := res.Step(shipprod.StepMonitor)
	assert.Equal(t, shipprod.StepFailed, m.Status)
	fr, _ := res.Step(shipprod.StepFinalReport)
	assert.Equal(t, shipprod.StepDone, fr.Status, "the report is brought up to date after the interruption")
	last := f.reporter.written[len(f.reporter.written)-1]
	assert.Equal(t, shipprod.OutcomeInterrupted, last.Outcome)
	assert.Contains(t, last.Error, "context canceled")
}

func TestDeployThatChangedProductionIsRolledBack(t *testing.T) {
	f := newFixture()
	cause := errors.New("CI run for production failed")
	f.dep.err, f.dep.changed = cause, true
	res, err := f.p.Run(context.Background())
	require.ErrorIs(t, err, cause)
	var se *shipprod.StepError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, shipprod.StepDeploy, se.Step)
	assert.Equal(t, shipprod.OutcomeRolledBack, res.Outcome)
	require.NotNil(t, res.Deployment, "the change is recorded")
	assert.Equal(t, "dep-1.3.0", res.Deployment.ID)
	assert.Equal(t, []string{
		"next", "apply 1.3.0", "tag v1.3.0 at c0ffee", "baseline", "deploy v1.3.0",
		"rollback dep-1.3.0 to v1.2.0", "health 1.2.0 dep-1.2.0", "report rolled-back",
	}, f.calls.list())
	h, _ := res.Step(shipprod.StepHealth)
	assert.Equal(t, "the deploy failed after changing production", h.Reason)
}

// memJournal is the in-memory journal of shipprodtest (a JSON copy, as a
// file would keep).
type memJournal = shipprodtest.Journal

// unreadableJournal holds a record that is not JSON.
type unreadableJournal struct{ memJournal }

func (*unreadableJournal) Load(context.Context) (*shipprod.Result, error) {
	var res shipprod.Result
	return nil, json.Unmarshal([]byte("{not json"), &res)
}

// failDeployOnce gives the pipeline a journal and runs it once with a deploy
// that is refused after the release was made; the next Run finds a journal
// to resume, and the deployer works again.
func failDeployOnce(t *testing.T, f *fixture) *memJournal {
	t.Helper()
	j := &memJournal{}
	f.p.Journal = j
	f.dep.err = errors.New("production branch is protected")
	_, err := f.p.Run(context.Background())
	require.Error(t, err)
	f.dep.err = nil
	f.calls.log = nil
	return j
}

func TestFailedRunIsResumed(t *testing.T) {
	f := newFixture()
	failDeployOnce(t, f)

	// The release now exists: its tag is where the versioner finds the
	// current version, so on its own it would say "nothing to release".
	f.ver.next = shipprod.Release{Version: "", PreviousVersion: "1.3.0", PreviousTag: "v1.3.0", PreviousCommit: "c0ffee", Bump: shipprod.BumpNone}
	f.ver.nextErr = fmt.Errorf("since v1.3.0: no commits: %w", shipprod.ErrNothingToRelease)

	plan, err := f.p.Plan(context.Background())
	require.NoError(t, err)
	assert.Contains(t, plan.Note, "resuming the run of 2026-11-27T12:00:00Z")
	assert.Equal(t, "v1.3.0", plan.Release.Tag)
	f.calls.log = nil

	res, err := f.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, shipprod.OutcomeShipped, res.Outcome)
	assert.Equal(t, []string{"next", "deploy v1.3.0", "health 1.3.0 dep-1.3.0", "report shipped", "watch dep-1.3.0", "report shipped"}, f.calls.list(),
		"neither the bump nor the tag is made again")
	assert.Equal(t, "c0ffee", res.Release.Commit)
	assert.Equal(t, "https://example.com/releases/v1.3.0", res.Release.ReleaseURL, "the tag step's outputs come from the journal")
	assert.Equal(t, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), res.ResumedFrom)
	for _, step := range []shipprod.StepName{shipprod.StepVersion, shipprod.StepTag, shipprod.StepBaseline} {
		s, _ := res.Step(step)
		assert.True(t, s.Resumed, step)
	}
	var done []shipprod.Action
	for _, s := range res.Steps {
		done = append(done, s.Actions...)
	}
	assert.Equal(t, plan.Actions(), done, "the plan of a resumed run is what it does")

	// Shipped: the journal no longer resumes; there is nothing to release.
	f.calls.log = nil
	res, err = f.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, shipprod.OutcomeNothingToRelease, res.Outcome)
	assert.Equal(t, []string{"next"}, f.calls.list())
}

func TestJournalOfAnOlderReleaseIsLeftBehind(t *testing.T) {
	f := newFixture()
	failDeployOnce(t, f)

	// A fix was committed since: the versioner decides a new release.
	f.ver.next = shipprod.Release{Version: "1.3.1", PreviousVersion: "1.3.0", Tag: "v1.3.1", PreviousTag: "v1.3.0", Bump: shipprod.BumpPatch}
	res, err := f.p.Run(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "1.3.1", res.Release.Version)
	assert.Contains(t, f.calls.list(), "apply 1.3.1")
	require.NotEmpty(t, res.Warnings)
	assert.Contains(t, res.Warnings[0], "not resuming the run of")
	assert.Contains(t, res.Warnings[0], "moved on from v1.3.0")
}

func TestBlockedRunKeepsTheJournal(t *testing.T) {
	f := newFixture()
	j := failDeployOnce(t, f)
	saved, err := j.Load(context.Background())
	require.NoError(t, err)
	f.p.Gates = gate.Static("ops", shipprod.GateResult{Name: "freeze", Found: "on", Required: "off", Key: "freeze"})
	_, err = f.p.Run(context.Background())
	var blocked *shipprod.GateBlockedError
	require.ErrorAs(t, err, &blocked)
	after, err := j.Load(context.Background())
	require.NoError(t, err)
	assert.Equal(t, saved, after, "a run that made no release does not overwrite the one to resume")
}

// A run killed while the monitor watches is not finished: its journal must
// say so, so that the next run resumes it.
func TestJournalDuringTheMonitorIsUnfinished(t *testing.T) {
	f := newFixture()
	j := &memJournal{}
	f.p.Journal = j
	var during *shipprod.Result
	f.monitor.during = func() {
		res, err := j.Load(context.Background())
		require.NoError(t, err)
		during = res
	}
	res, err := f.p.Run(context.Background())
	require.NoError(t, err)
	require.NotNil(t, during)
	assert.Empty(t, during.Outcome, "no outcome before the run ends")
	assert.Equal(t, shipprod.OutcomeShipped, f.reporter.written[0].Outcome, "the report still states the outcome so far")
	assert.Equal(t, shipprod.OutcomeShipped, res.Outcome)
	final, err := j.Load(context.Background())
	require.NoError(t, err)
	assert.Equal(t, shipprod.OutcomeShipped, final.Outcome)
}

func TestRollbackToAnUnhealthyReleaseIsStillARollback(t *testing.T) {
	f := newFixture()
	f.health.unhealthy["1.3.0"] = true
	f.health.unhealthy["1.2.0"] = true
	res, err := f.p.Run(context.Background())
	require.Error(t, err)
	assert.Equal(t, shipprod.OutcomeRolledBack, res.Outcome, "production runs v1.2.0 again")
	assert.Contains(t, err.Error(), "restored version 1.2.0 is unhealthy too")
	require.NotNil(t, res.Rollback)
	assert.Equal(t, "dep-1.2.0", res.Rollback.Restored.ID)
}

func TestGivenReleaseIsResumedToo(t *testing.T) {
	f := newFixture()
	f.p.Versioner = nil
	f.p.Release = shipprod.Release{Version: "2.0.0", Tag: "v2.0.0", Commit: "beef", PreviousVersion: "1.9.0", PreviousTag: "v1.9.0"}
	failDeployOnce(t, f)
	res, err := f.p.Run(context.Background())
	require.NoError(t, err)
	assert.NotContains(t, f.calls.list(), "tag v2.0.0 at beef", "the tag step is not repeated")
	tagStep, _ := res.Step(shipprod.StepTag)
	assert.True(t, tagStep.Resumed)
}

// A journal that cannot be read stops the run before anything changes: a
// release must not be made twice because its record was lost.
func TestUnreadableJournalStopsTheRun(t *testing.T) {
	f := newFixture()
	f.p.Journal = &unreadableJournal{}
	res, err := f.p.Run(context.Background())
	var se *shipprod.StepError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, shipprod.StepPreflight, se.Step, "the journal is read with the version decision, before the pre-flight")
	assert.Contains(t, err.Error(), "reading the journal")
	assert.Equal(t, shipprod.OutcomeFailed, res.Outcome)
	assert.Equal(t, []string{"next"}, f.calls.list(), "nothing was applied, tagged or deployed")
}

// undoingTagger undoes its part after a rollback, as tag.delete_on_rollback
// does.
type undoingTagger struct {
	fakeTagger
	err error
}

func (u undoingTagger) AfterRollback(ctx context.Context, failed shipprod.Release, restored shipprod.Deployment) (string, error) {
	u.c.add("after rollback " + failed.Tag + " restored " + restored.ID)
	if u.err != nil {
		return "", u.err
	}
	return "deleted tag " + failed.Tag, nil
}

func TestTaggerUndoesItsPartAfterARollback(t *testing.T) {
	for _, tc := range []struct {
		name    string
		err     error
		note    string
		warning string
	}{
		{name: "note", note: "deleted tag v1.3.0"},
		{name: "failure is a warning", err: errors.New("remote refused the deletion"), warning: "could not undo its part: remote refused the deletion"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture()
			f.p.Tagger = undoingTagger{fakeTagger{f.calls}, tc.err}
			f.health.unhealthy["1.3.0"] = true
			res, err := f.p.Run(context.Background())
			require.Error(t, err)
			assert.Equal(t, shipprod.OutcomeRolledBack, res.Outcome, "a failure to undo does not change the outcome")
			assert.Contains(t, f.calls.list(), "after rollback v1.3.0 restored dep-1.2.0", "the failed release is named by its deployment")
			require.NotNil(t, res.Rollback)
			if tc.note != "" {
				assert.Equal(t, []string{tc.note}, res.Rollback.Notes)
			} else {
				assert.Empty(t, res.Rollback.Notes)
			}
			rb, _ := res.Step(shipprod.StepRollback)
			if tc.warning != "" {
				assert.Contains(t, rb.Warning, tc.warning)
			} else {
				assert.Empty(t, rb.Warning)
			}
		})
	}
	// A rollback that failed restores nothing, and nothing is undone.
	f := newFixture()
	f.p.Tagger = undoingTagger{fakeTagger: fakeTagger{f.calls}}
	f.health.unhealthy["1.3.0"] = true
	f.dep.rbErr = errors.New("platform down")
	_, err := f.p.Run(context.Background())
	require.Error(t, err)
	for _, c := range f.calls.list() {
		assert.NotContains(t, c, "after rollback")
	}
}
