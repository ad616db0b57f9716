// Package shipprod promotes a validated staging build to production, end to
// end: it verifies the release gates, bumps the semantic version, tags and
// publishes the release, deploys it, checks its health, writes the ship
// report and watches production for a while, rolling back on its own when
// production degrades.
//
// The package owns the vocabulary — the step interfaces (GateSource,
// Versioner, Tagger, Deployer, HealthChecker, Reporter, Monitor), the values
// that flow between them (Release, Deployment, HealthReport, MonitorReport,
// Result) and the errors a caller acts on (GateBlockedError, HealthCheckError,
// MonitorError, PushRejectedError) — and the Pipeline that runs the steps in
// order. Implementations live in sub-packages (gate, version, tag, provider/…,
// health, report) and an importer can replace any of them with its own.
//
// Every side effect is planned first: Plan returns the list of actions Run
// would perform, without performing any, and Run reports the same list as it
// goes. A nil step is skipped, and the skip is recorded in the events and the
// Result, never silent.
package shipprod

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"
)

// GateSource decides whether a release may ship. It reports every gate it
// checked; a gate that did not pass blocks the run with a GateBlockedError.
// An error means the gates could not be read at all, which also blocks.
type GateSource interface {
	CheckGates(ctx context.Context) (GateReport, error)
}

// Versioner decides the next version and writes it.
type Versioner interface {
	// NextVersion decides the release without changing anything: version,
	// previous version, tag name, bump, reasons and the files it will write.
	// It returns an error wrapping ErrNothingToRelease when there is nothing
	// releasable.
	NextVersion(ctx context.Context) (Release, error)
	// ApplyVersion writes rel.Version into the version files and the
	// CHANGELOG and commits them, returning rel with Commit and Notes set.
	ApplyVersion(ctx context.Context, rel Release) (Release, error)
}

// Tagger creates and pushes the release tag and publishes the hosted release.
// It returns rel with ReleaseURL (and Remote) set. It must be idempotent: a tag
// that already points at rel.Commit is reused.
type Tagger interface {
	Tag(ctx context.Context, rel Release) (Release, error)
}

// Deployer puts a release into production and waits until it is live. A
// deploy that fails after it changed production returns a
// *ProductionChangedError, so that the Pipeline can roll it back.
type Deployer interface {
	Deploy(ctx context.Context, rel Release) (Deployment, error)
}

// Rollbacker is implemented by Deployers that can return production to an
// earlier release. failed is the deployment to undo; to is the release to
// restore (Release.Previous of the one shipped).
type Rollbacker interface {
	Rollback(ctx context.Context, failed Deployment, to Release) (Deployment, error)
}

// HealthChecker checks a deployed release. Failing checks are reported in
// the HealthReport; an error means the checks could not run at all.
type HealthChecker interface {
	Check(ctx context.Context, rel Release, dep Deployment) (HealthReport, error)
}

// Reporter writes the ship report for a run and returns the paths it wrote.
// It is called once after the health checks and again after the monitor.
type Reporter interface {
	WriteReport(ctx context.Context, res Result) ([]string, error)
}

// MonitorBaseline holds what a Monitor measured before the deploy, to compare
// production against afterwards.
type MonitorBaseline struct {
	CapturedAt time.Time `json:"captured_at"`
	// Values maps a gate name to its baseline value.
	Values map[string]float64 `json:"values,omitempty"`
	// Errors maps a gate name to why its baseline could not be measured.
	Errors map[string]string `json:"errors,omitempty"`
}

// Monitor watches production for a window after the deploy.
type Monitor interface {
	// Baseline is called before the deploy.
	Baseline(ctx context.Context, rel Release) (MonitorBaseline, error)
	// Watch is called after the health checks pass. A failed window is a
	// report with VerdictFailed, not an error; an error means the monitor
	// could not run.
	Watch(ctx context.Context, rel Release, dep Deployment, base MonitorBaseline) (MonitorReport, error)
}

// Outcome is how a run ended.
type Outcome string

// Run outcomes.
const (
	OutcomeShipped          Outcome = "shipped"
	OutcomeNothingToRelease Outcome = "nothing-to-release"
	OutcomeBlocked          Outcome = "blocked"
	OutcomeFailed           Outcome = "failed"
	// OutcomeRolledBack: production was found unhealthy and rolled back.
	OutcomeRolledBack Outcome = "rolled-back"
	// OutcomeUnhealthy: production was found unhealthy and left as it is
	// (policy freeze or notify, or the rollback was impossible or failed).
	OutcomeUnhealthy Outcome = "unhealthy"
)

// StepStatus is how one step ended.
type StepStatus string

// Step statuses.
const (
	StepDone    StepStatus = "done"
	StepSkipped StepStatus = "skipped"
	StepFailed  StepStatus = "failed"
)

// StepRecord is one step of a finished run.
type StepRecord struct {
	Step      string        `json:"step"`
	Title     string        `json:"title,omitempty"`
	Status    StepStatus    `json:"status"`
	Reason    string        `json:"reason,omitempty"` // why it was skipped
	Warning   string        `json:"warning,omitempty"`
	Error     string        `json:"error,omitempty"`
	StartedAt time.Time     `json:"started_at"`
	Duration  time.Duration `json:"duration"`
	Actions   []Action      `json:"actions,omitempty"`
	// Resumed marks a step skipped because the run this one resumes had
	// done it; its outputs were taken from the journal.
	Resumed bool `json:"resumed,omitempty"`
}

// Result is everything a run did. Every field is a plain value; in JSON,
// durations are nanoseconds (time.Duration).
type Result struct {
	Outcome    Outcome          `json:"outcome"`
	StartedAt  time.Time        `json:"started_at"`
	FinishedAt time.Time        `json:"finished_at"`
	Gates      GateReport       `json:"gates"`
	Release    Release          `json:"release"`
	Baseline   *MonitorBaseline `json:"baseline,omitempty"`
	Deployment *Deployment      `json:"deployment,omitempty"`
	Health     *HealthReport    `json:"health,omitempty"`
	Monitor    *MonitorReport   `json:"monitor,omitempty"`
	Rollback   *RollbackReport  `json:"rollback,omitempty"`
	Steps      []StepRecord     `json:"steps"`
	// Reports are the paths the Reporter wrote.
	Reports  []string `json:"reports,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// ResumedFrom is when the run this one resumed started (zero when it
	// did not resume one).
	ResumedFrom time.Time `json:"resumed_from,omitzero"`
	// Error is the run's error, if it failed.
	Error string `json:"error,omitempty"`
}

// Step returns the record of the named step and whether it exists.
func (r *Result) Step(name string) (StepRecord, bool) {
	for _, s := range r.Steps {
		if s.Step == name {
			return s, true
		}
	}
	return StepRecord{}, false
}

// Pipeline runs the release steps in order: gates, version, tag, baseline,
// deploy, health (and rollback), report, monitor (and rollback), final
// report. Any step may be nil: it is then skipped and the skip recorded.
//
// A Pipeline holds no state between runs; its fields are read-only while Run
// or Plan execute.
type Pipeline struct {
	Gates     GateSource
	Versioner Versioner
	Tagger    Tagger
	Deployer  Deployer
	Health    HealthChecker
	Reporter  Reporter
	Monitor   Monitor

	// Release seeds the run. With a nil Versioner it is shipped as given
	// (e.g. to deploy an existing tag).
	Release Release

	// OnFailure says what to do when production is unhealthy after the
	// deploy. The zero value means PolicyRollback.
	OnFailure FailurePolicy

	// Journal, when set, records the run's progress so that a run that
	// failed after making its release resumes it (see Journal).
	Journal Journal

	// Observer receives step events; nil means none.
	Observer Observer
	// Clock defaults to SystemClock.
	Clock Clock
	// Logger receives diagnostics; nil discards them.
	Logger *slog.Logger
}

// Run performs the release. It returns the Result (never nil) and, when the
// run did not ship, an error: *GateBlockedError when a gate refused,
// *HealthCheckError or *MonitorError when production was unhealthy after the
// deploy (Result.Outcome says whether it was rolled back), or a *StepError
// wrapping the failure of any other step. "Nothing to release" is not an
// error.
func (p *Pipeline) Run(ctx context.Context) (*Result, error) {
	r := &run{p: p, clock: p.clock(), log: p.logger()}
	r.res = &Result{StartedAt: r.clock.Now(), Release: p.Release}
	err := r.run(ctx)
	r.res.FinishedAt = r.clock.Now()
	if err != nil {
		r.res.Error = err.Error()
		if r.res.Outcome == "" {
			r.res.Outcome = OutcomeFailed
		}
	}
	if r.res.Outcome == "" {
		r.res.Outcome = OutcomeShipped
	}
	r.checkpoint(ctx)
	return r.res, err
}

func (p *Pipeline) clock() Clock {
	if p.Clock != nil {
		return p.Clock
	}
	return SystemClock()
}

func (p *Pipeline) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (p *Pipeline) policy() FailurePolicy {
	if p.OnFailure == "" {
		return PolicyRollback
	}
	return p.OnFailure
}

// run is the state of one Run.
type run struct {
	p     *Pipeline
	clock Clock
	log   *slog.Logger
	res   *Result
	// prev is the journaled run this one resumes, if any.
	prev *Result
	// journaling is set once the run has a release worth journaling.
	journaling bool
}

// checkpoint saves the result so far in the journal, once the run has made
// (or resumed) a release. A journal that cannot be written is a warning: the
// release goes on, only the ability to resume it is lost.
func (r *run) checkpoint(ctx context.Context) {
	if r.p.Journal == nil || !r.journaling {
		return
	}
	if err := r.p.Journal.Save(ctx, r.res); err != nil {
		r.log.Warn("cannot write the journal", "err", err)
		msg := "journal: " + err.Error()
		if !slices.Contains(r.res.Warnings, msg) {
			r.res.Warnings = append(r.res.Warnings, msg)
		}
	}
}

// resumed records a step the resumed run had done.
func (r *run) resumed(ctx context.Context, step string) {
	reason := "done by the run of " + r.prev.StartedAt.Format(time.RFC3339) + ", which this one resumes"
	r.res.Steps = append(r.res.Steps, StepRecord{Step: step, Title: stepTitle(step, r.res.Release), Status: StepSkipped, Reason: reason, Resumed: true, StartedAt: r.clock.Now()})
	r.emit(Event{Step: step, Kind: EventSkipped, Title: stepTitle(step, r.res.Release), Reason: reason})
	r.checkpoint(ctx)
}

func (r *run) emit(e Event) {
	e.Time = r.clock.Now()
	r.log.Debug("step event", "step", e.Step, "event", e.Kind, "reason", e.Reason)
	if r.p.Observer != nil {
		r.p.Observer.Observe(e)
	}
}

// skip records a step that does not run.
func (r *run) skip(step, reason string) {
	r.res.Steps = append(r.res.Steps, StepRecord{Step: step, Title: stepTitle(step, r.res.Release), Status: StepSkipped, Reason: reason, StartedAt: r.clock.Now()})
	r.emit(Event{Step: step, Kind: EventSkipped, Title: stepTitle(step, r.res.Release), Reason: reason})
	r.checkpoint(context.Background())
}

// exec runs one step: it lists the step's actions, emits the started event,
// runs fn and records the outcome. fn returns a warning for a step that
// finished with something worth telling.
func (r *run) exec(ctx context.Context, step string, impl any, fn func(context.Context) (warning string, err error)) error {
	start := r.clock.Now()
	title := stepTitle(step, r.res.Release)
	rec := StepRecord{Step: step, Title: title, StartedAt: start}
	actions, err := r.p.actionsFor(ctx, step, impl, r.res.Release)
	if err == nil {
		rec.Actions = actions
		r.emit(Event{Step: step, Kind: EventStarted, Title: title, Actions: actions})
		rec.Warning, err = fn(ctx)
	}
	rec.Duration = r.clock.Now().Sub(start)
	if err != nil {
		rec.Status, rec.Error = StepFailed, err.Error()
		r.res.Steps = append(r.res.Steps, rec)
		r.emit(Event{Step: step, Kind: EventFailed, Title: title, Duration: rec.Duration, Err: err})
		r.checkpoint(ctx)
		return err
	}
	rec.Status = StepDone
	if rec.Warning != "" {
		r.res.Warnings = append(r.res.Warnings, step+": "+rec.Warning)
	}
	r.res.Steps = append(r.res.Steps, rec)
	r.emit(Event{Step: step, Kind: EventFinished, Title: title, Duration: rec.Duration, Reason: rec.Warning})
	r.checkpoint(ctx)
	return nil
}

// stop skips every remaining step with the reason.
func (r *run) stop(reason string, steps ...string) {
	for _, s := range steps {
		r.skip(s, reason)
	}
}

// fail ends the run after step failed with err: every later step is
// skipped, but once a release exists the report is written all the same,
// saying what failed, so that the report of an earlier release does not
// stand in for this one.
func (r *run) fail(ctx context.Context, step string, err error) error {
	err = &StepError{Step: step, Err: err}
	for _, s := range stepsAfter(step) {
		if s != StepReport || !r.journaling || r.p.Reporter == nil {
			r.skip(s, "an earlier step failed")
			continue
		}
		res := *r.res
		res.Outcome, res.Error = OutcomeFailed, err.Error()
		if rerr := r.exec(ctx, StepReport, r.p.Reporter, func(ctx context.Context) (string, error) {
			paths, err := r.p.Reporter.WriteReport(ctx, res)
			r.res.Reports = paths
			return "", err
		}); rerr != nil {
			err = errors.Join(err, &StepError{Step: StepReport, Err: rerr})
		}
	}
	return err
}

func (r *run) run(ctx context.Context) error {
	p := r.p

	// Gates.
	if p.Gates == nil {
		r.skip(StepGates, "no GateSource configured")
	} else {
		err := r.exec(ctx, StepGates, p.Gates, func(ctx context.Context) (string, error) {
			report, err := p.Gates.CheckGates(ctx)
			r.res.Gates = report
			if err != nil {
				return "", &GateBlockedError{Gates: report.Blocking(), Err: err}
			}
			if blocking := report.Blocking(); len(blocking) > 0 {
				return "", &GateBlockedError{Gates: blocking}
			}
			return "", nil
		})
		if err != nil {
			r.res.Outcome = OutcomeBlocked
			r.stop("blocked by release gates", stepsAfter(StepGates)...)
			return err
		}
	}

	// Version: decide (read-only), then apply — unless the journal holds a
	// release this run resumes.
	var (
		rel Release
		err error
	)
	if p.Versioner != nil {
		rel, err = p.Versioner.NextVersion(ctx)
	}
	prev, note, jerr := p.resumePoint(ctx, rel, err)
	if jerr != nil {
		r.stop("the journal cannot be read", stepsAfter(StepGates)...)
		return &StepError{Step: StepVersion, Err: jerr}
	}
	if note != "" {
		r.log.Info(note)
		r.res.Warnings = append(r.res.Warnings, note)
	}
	switch {
	case prev != nil:
		r.prev, r.journaling = prev, true
		r.res.Release, r.res.ResumedFrom = prev.Release, prev.StartedAt
		r.resumed(ctx, StepVersion)
	case p.Versioner == nil:
		r.journaling = true
		r.skip(StepVersion, reasonGivenRelease)
	default:
		if errors.Is(err, ErrNothingToRelease) {
			r.res.Release = rel
			r.res.Outcome = OutcomeNothingToRelease
			r.skip(StepVersion, err.Error())
			r.stop("nothing to release", stepsAfter(StepVersion)...)
			return nil
		}
		if err != nil {
			err = &StepError{Step: StepVersion, Err: err}
			r.res.Steps = append(r.res.Steps, StepRecord{Step: StepVersion, Title: "Deciding the next version", Status: StepFailed, Error: err.Error(), StartedAt: r.clock.Now()})
			r.emit(Event{Step: StepVersion, Kind: EventFailed, Title: "Deciding the next version", Err: err})
			r.stop("an earlier step failed", stepsAfter(StepVersion)...)
			return err
		}
		r.res.Release = rel
		for _, w := range rel.Warnings {
			r.res.Warnings = append(r.res.Warnings, "version: "+w)
		}
		if err := r.exec(ctx, StepVersion, p.Versioner, func(ctx context.Context) (string, error) {
			applied, err := p.Versioner.ApplyVersion(ctx, r.res.Release)
			if err != nil {
				return "", err
			}
			r.res.Release, r.journaling = applied, true
			return "", nil
		}); err != nil {
			r.stop("an earlier step failed", stepsAfter(StepVersion)...)
			return &StepError{Step: StepVersion, Err: err}
		}
	}

	// Tag.
	if doneIn(r.prev, StepTag) {
		r.resumed(ctx, StepTag)
	} else if p.Tagger == nil {
		r.skip(StepTag, "no Tagger configured")
	} else if err := r.exec(ctx, StepTag, p.Tagger, func(ctx context.Context) (string, error) {
		tagged, err := p.Tagger.Tag(ctx, r.res.Release)
		if err != nil {
			return "", err
		}
		r.res.Release = tagged
		return "", nil
	}); err != nil {
		return r.fail(ctx, StepTag, err)
	}

	// Baseline: measured before the deploy changes production. A baseline
	// that cannot be measured is a warning: the monitor's gates then report
	// Error rather than blocking the release on a metrics outage.
	var baseline MonitorBaseline
	if doneIn(r.prev, StepBaseline) && r.prev.Baseline != nil && p.Monitor != nil {
		baseline = *r.prev.Baseline
		r.res.Baseline = &baseline
		r.resumed(ctx, StepBaseline)
	} else if p.Monitor == nil {
		r.skip(StepBaseline, "no Monitor configured")
	} else {
		_ = r.exec(ctx, StepBaseline, p.Monitor, func(ctx context.Context) (string, error) {
			b, err := p.Monitor.Baseline(ctx, r.res.Release)
			baseline = b
			r.res.Baseline = &baseline
			if err != nil {
				return "baseline not captured: " + err.Error(), nil
			}
			return "", nil
		})
	}

	// Deploy.
	var verifyErr error
	if doneIn(r.prev, StepDeploy) && r.prev.Deployment != nil {
		dep := *r.prev.Deployment
		r.res.Deployment = &dep
		r.resumed(ctx, StepDeploy)
	} else if p.Deployer == nil {
		r.skip(StepDeploy, "no Deployer configured")
		r.stop("nothing was deployed", StepHealth, StepRollback)
	} else {
		if err := r.exec(ctx, StepDeploy, p.Deployer, func(ctx context.Context) (string, error) {
			dep, err := p.Deployer.Deploy(ctx, r.res.Release)
			var changed *ProductionChangedError
			switch {
			case errors.As(err, &changed):
				r.res.Deployment = &changed.Deployment
			case err == nil:
				r.res.Deployment = &dep
			}
			return "", err
		}); err != nil {
			if r.res.Deployment == nil {
				return r.fail(ctx, StepDeploy, err)
			}
			// Production changed and then the deploy failed: its state is
			// unknown, so it is treated like a failed health check.
			verifyErr = &StepError{Step: StepDeploy, Err: err}
			r.skip(StepHealth, "the deploy failed after changing production")
			verifyErr = errors.Join(verifyErr, r.recover(ctx, "the deploy failed after changing production: "+err.Error()))
		}
	}

	// Health, and a rollback if production is unhealthy.
	if r.res.Deployment != nil && verifyErr == nil {
		if p.Health == nil {
			r.skip(StepHealth, "no HealthChecker configured")
		} else if err := r.exec(ctx, StepHealth, p.Health, func(ctx context.Context) (string, error) {
			hr, err := p.Health.Check(ctx, r.res.Release, *r.res.Deployment)
			if err != nil {
				return "", err
			}
			r.res.Health = &hr
			if !hr.OK() {
				return "", &HealthCheckError{Report: hr}
			}
			return "", nil
		}); err != nil {
			var hce *HealthCheckError
			if !errors.As(err, &hce) {
				return r.fail(ctx, StepHealth, err)
			}
			verifyErr = err
			verifyErr = errors.Join(verifyErr, r.recover(ctx, "health checks failed: "+err.Error()))
		}
	}

	// Report.
	reported := false
	if p.Reporter == nil {
		r.skip(StepReport, "no Reporter configured")
	} else {
		// The report states the outcome so far; the Result's own Outcome
		// stays unset until the run ends, so that a journal written while
		// the monitor watches says the run is not finished.
		res := *r.res
		res.Outcome = r.outcomeSoFar(verifyErr)
		if err := r.exec(ctx, StepReport, p.Reporter, func(ctx context.Context) (string, error) {
			paths, err := p.Reporter.WriteReport(ctx, res)
			r.res.Reports = paths
			return "", err
		}); err != nil {
			r.stop("an earlier step failed", StepMonitor, StepFinalReport)
			return errors.Join(verifyErr, &StepError{Step: StepReport, Err: err})
		}
		reported = true
	}

	// Monitor. A monitor that cannot run fails the run, but production is
	// left alone: nothing says it is unhealthy.
	var monitorErr error
	switch {
	case p.Monitor == nil:
		r.skip(StepMonitor, "no Monitor configured")
	case r.res.Deployment == nil:
		r.skip(StepMonitor, "nothing was deployed")
	case verifyErr != nil:
		r.skip(StepMonitor, "production was found unhealthy")
	default:
		err := r.exec(ctx, StepMonitor, p.Monitor, func(ctx context.Context) (string, error) {
			mr, err := p.Monitor.Watch(ctx, r.res.Release, *r.res.Deployment, baseline)
			if err != nil {
				return "", err
			}
			r.res.Monitor = &mr
			switch mr.Verdict {
			case VerdictFailed:
				return "", &MonitorError{Report: mr}
			case VerdictPassed:
				return "", nil
			default:
				return fmt.Sprintf("monitor verdict %s: %s", mr.Verdict, mr.Reason), nil
			}
		})
		var me *MonitorError
		switch {
		case errors.As(err, &me):
			verifyErr = errors.Join(err, r.recover(ctx, err.Error()))
		case err != nil:
			monitorErr = &StepError{Step: StepMonitor, Err: err}
		}
	}

	if _, rolled := r.res.Step(StepRollback); !rolled {
		r.skip(StepRollback, "production was not found unhealthy")
	}

	// Final report: the report again, now with the monitor's verdict.
	r.res.Outcome = r.outcomeSoFar(verifyErr)
	if monitorErr != nil {
		r.res.Outcome, r.res.Error = OutcomeFailed, monitorErr.Error()
	}
	switch {
	case !reported:
		r.skip(StepFinalReport, "no report was written")
	case r.res.Monitor == nil && monitorErr == nil:
		r.skip(StepFinalReport, "nothing changed since the report")
	default:
		if err := r.exec(ctx, StepFinalReport, p.Reporter, func(ctx context.Context) (string, error) {
			paths, err := p.Reporter.WriteReport(ctx, *r.res)
			if err == nil {
				r.res.Reports = paths
			}
			return "", err
		}); err != nil {
			return errors.Join(verifyErr, monitorErr, &StepError{Step: StepFinalReport, Err: err})
		}
	}
	return errors.Join(verifyErr, monitorErr)
}

// outcomeSoFar is the outcome given the verification error so far.
func (r *run) outcomeSoFar(verifyErr error) Outcome {
	switch {
	case verifyErr == nil:
		return OutcomeShipped
	case r.res.Rollback != nil && r.res.Rollback.Restored.ID != "":
		// Production runs the previous release again, even if its health
		// check failed too (the error says so).
		return OutcomeRolledBack
	default:
		return OutcomeUnhealthy
	}
}

// recover applies the failure policy after production was found unhealthy.
// It returns the rollback's own failure, if any.
func (r *run) recover(ctx context.Context, reason string) error {
	p := r.p
	policy := p.policy()
	if policy != PolicyRollback {
		r.skip(StepRollback, fmt.Sprintf("policy %s: production left as it is", policy))
		return nil
	}
	rb, ok := p.Deployer.(Rollbacker)
	if !ok {
		r.skip(StepRollback, fmt.Sprintf("deployer %s cannot roll back", describe(p.Deployer)))
		return nil
	}
	to := r.res.Release.Previous()
	if to.Version == "" && r.res.Deployment.PreviousID == "" {
		r.skip(StepRollback, "no previous release to roll back to")
		return nil
	}
	report := &RollbackReport{Reason: reason, StartedAt: r.clock.Now()}
	r.res.Rollback = report
	err := r.exec(ctx, StepRollback, p.Deployer, func(ctx context.Context) (string, error) {
		restored, err := rb.Rollback(ctx, *r.res.Deployment, to)
		if err != nil {
			return "", err
		}
		report.Restored = restored
		if p.Health == nil {
			return "restored version not health-checked: no HealthChecker configured", nil
		}
		hr, err := p.Health.Check(ctx, to, restored)
		if err != nil {
			return "", fmt.Errorf("checking the restored version: %w", err)
		}
		report.Health = &hr
		if !hr.OK() {
			return "", fmt.Errorf("restored version %s is unhealthy too: %w", to.Version, &HealthCheckError{Report: hr})
		}
		return "", nil
	})
	report.FinishedAt = r.clock.Now()
	if err != nil {
		report.Error = err.Error()
		return &StepError{Step: StepRollback, Err: err}
	}
	return nil
}

// reasonGivenRelease is why the version step is skipped without a Versioner.
const reasonGivenRelease = "no Versioner configured; shipping the release as given"

// stepOrder is the order of the steps (a rollback after the monitor is
// recorded where it happens).
var stepOrder = []string{StepGates, StepVersion, StepTag, StepBaseline, StepDeploy, StepHealth, StepRollback, StepReport, StepMonitor, StepFinalReport}

// stepsAfter returns the steps that follow step.
func stepsAfter(step string) []string {
	for i, s := range stepOrder {
		if s == step {
			return stepOrder[i+1:]
		}
	}
	return nil
}

// describe names a step implementation for humans: its String method if it
// has one, else its type.
func describe(impl any) string {
	if s, ok := impl.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", impl)
}

// stepTitle is the human line for a step, in the style users know from
// Spec-Flow ("Creating git tag v2.7.0").
func stepTitle(step string, rel Release) string {
	switch step {
	case StepGates:
		return "Verifying release gates"
	case StepVersion:
		if rel.PreviousVersion != "" {
			return fmt.Sprintf("Bumping version %s → %s", rel.PreviousVersion, rel.Version)
		}
		if rel.Version != "" {
			return "Setting first version " + rel.Version
		}
		return "Bumping version"
	case StepTag:
		return "Creating git tag " + rel.Tag
	case StepBaseline:
		return "Capturing production baseline"
	case StepDeploy:
		return "Deploying " + cmp.Or(rel.Tag, rel.Version) + " to production"
	case StepHealth:
		return "Running health checks"
	case StepRollback:
		return "Rolling back to " + cmp.Or(rel.PreviousTag, "the previous release")
	case StepReport:
		return "Writing ship report"
	case StepMonitor:
		return "Monitoring production"
	case StepFinalReport:
		return "Updating ship report"
	}
	return step
}
