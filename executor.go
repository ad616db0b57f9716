package shipprod

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// execution is the state of one Run or Plan. The typed values the steps
// hand each other (the Release, the Deployment, the baseline, the health
// and monitor reports) live in res, the Result being built.
type execution struct {
	p     *Pipeline
	clock Clock
	log   *slog.Logger
	res   *Result
	// plan is set while Plan walks the table: steps are listed, not run
	// (but read-only ones).
	plan *Plan
	// confirmed is the plan a RunPlan runs: its decision is not made again.
	confirmed *Plan
	// prev is the journaled run this one resumes, if any.
	prev *Result
	// released is set once the run has a release (made, resumed or given);
	// journaling once it is worth journaling (a release is being applied).
	released, journaling bool
	// stopReason, once set, skips every later step with that reason.
	stopReason string
	// failed is set when a step failed and stopped the run.
	failed bool
	// unhealthy is set when a step found production unhealthy;
	// unhealthySkip is why that skips the checks that would follow.
	unhealthy     error
	unhealthySkip string
	// errs are the run's errors, joined into the one Run returns.
	errs []error
	// ran holds the steps already run out of their place (the rollback).
	ran map[StepName]bool
	// interrupted is set when the run's context ended while a step ran.
	interrupted bool
	// emitMu serialises events: progress comes from a step's goroutines.
	emitMu sync.Mutex
	// decision is the Versioner's decision (or the given release).
	decision  Release
	decideErr error
}

func (p *Pipeline) newExecution() *execution {
	e := &execution{p: p, clock: p.clock(), log: p.logger(), ran: map[StepName]bool{}}
	e.res = &Result{StartedAt: e.clock.Now(), Release: p.Release}
	if ru, ok := DeployerAs[RolloutUser](p.Deployer); ok {
		ru.UseRollout(p.Rollout)
	}
	if mp, ok := p.Monitor.(MonitorPlanner); ok {
		plan := mp.MonitorPlan()
		e.res.MonitorPlan = &plan
	}
	return e
}

// walk runs (or, for Plan, lists) every step of the table in order.
func (e *execution) walk(ctx context.Context) {
	table := e.p.steps()
	for _, s := range table {
		if e.ran[s.name] {
			continue
		}
		e.step(ctx, table, s)
	}
}

// step decides whether s runs, is skipped or is resumed, and runs it.
func (e *execution) step(ctx context.Context, table []stepSpec, s stepSpec) {
	if e.stopped(s) {
		e.skip(s, e.stopReason)
		return
	}
	if s.prepare != nil {
		if err := s.prepare(e, ctx); err != nil {
			e.failPrepare(s, err)
			return
		}
		if e.stopped(s) {
			e.skip(s, e.stopReason)
			return
		}
	}
	if e.resumes(s) {
		e.recordResumed(ctx, s)
		return
	}
	if s.onUnhealthy && e.unhealthy == nil && e.plan == nil && s.impl != nil {
		e.skip(s, "production was not found unhealthy")
		return
	}
	if reason := e.skipReason(s); reason != "" {
		e.skip(s, reason)
		return
	}
	switch {
	case e.plan != nil && s.onUnhealthy:
		e.list(ctx, s, s.condition)
	case e.plan != nil:
		e.list(ctx, s, "")
	default:
		e.exec(ctx, table, s)
	}
}

// stopped reports whether an earlier step stopped the run before s: the
// report still runs after a failure once a release exists, and the
// notification always runs.
func (e *execution) stopped(s stepSpec) bool {
	switch {
	case e.stopReason == "" || s.always:
		return false
	case s.afterFailure:
		return !e.failed || !e.released
	}
	return true
}

// skipReason says why s does not run ("" when it does).
func (e *execution) skipReason(s stepSpec) string {
	switch {
	case s.impl == nil:
		return s.none
	case s.skip != nil:
		return s.skip(e)
	}
	return ""
}

// exec runs one step: it lists the step's actions, records it as running
// in the journal before it changes anything, runs it and records the
// outcome, which classify turns into what happens to the run.
func (e *execution) exec(ctx context.Context, table []stepSpec, s stepSpec) {
	start := e.clock.Now()
	title := s.title(e)
	rec := StepRecord{Step: s.name, Title: title, StartedAt: start, Status: StepRunning}
	actions, err := e.actionsFor(ctx, s)
	if err == nil {
		rec.Actions = actions
		e.res.Steps = append(e.res.Steps, rec)
		e.journaling = e.journaling || s.startsJournal
		e.checkpoint(ctx)
		e.emit(Event{Step: s.name, Kind: EventStarted, Title: title, Actions: actions})
		rec.Warning, err = e.runStep(ctx, s)
		e.res.Steps = e.res.Steps[:len(e.res.Steps)-1]
	}
	rec.Duration = e.clock.Now().Sub(start)
	if err == nil {
		e.finish(ctx, s, rec)
		return
	}
	e.fail(ctx, table, s, rec, err)
}

// runStep runs s; a step that survives cancellation runs on a context of
// its own once the run was interrupted. The step's context carries its
// progress to the Observer.
func (e *execution) runStep(ctx context.Context, s stepSpec) (string, error) {
	title := s.title(e)
	ctx = withProgress(ctx, func(p Progress) {
		e.emit(Event{Step: s.name, Kind: EventProgress, Title: title, Progress: &p})
	})
	if s.survivesCancel && ctx.Err() != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		return s.run(e, cctx)
	}
	return s.run(e, ctx)
}

// cleanupTimeout bounds the steps that still run after an interruption.
const cleanupTimeout = 30 * time.Second

func (e *execution) finish(ctx context.Context, s stepSpec, rec StepRecord) {
	rec.Status = StepDone
	if rec.Warning != "" {
		e.warn(string(s.name) + ": " + rec.Warning)
	}
	e.res.Steps = append(e.res.Steps, rec)
	e.emit(Event{Step: s.name, Kind: EventFinished, Title: rec.Title, Duration: rec.Duration, Reason: rec.Warning})
	e.checkpoint(ctx)
}

// fail records a failed step and applies what its failure means.
func (e *execution) fail(ctx context.Context, table []stepSpec, s stepSpec, rec StepRecord, err error) {
	kind := failStop
	switch {
	case ctx.Err() != nil && !s.survivesCancel:
		// Interrupted: whatever the step's error says, it is the
		// cancellation's doing; the run stops where it is.
		e.interrupted = true
	case s.classify != nil:
		kind = s.classify(err)
	}
	if kind == failWarn {
		rec.Warning = err.Error()
		e.finish(ctx, s, rec)
		return
	}
	rec.Status, rec.Error = StepFailed, err.Error()
	e.res.Steps = append(e.res.Steps, rec)
	e.emit(Event{Step: s.name, Kind: EventFailed, Title: rec.Title, Duration: rec.Duration, Err: err})
	e.checkpoint(ctx)
	switch kind {
	case failBlock:
		e.res.Outcome = OutcomeBlocked
		e.errs = append(e.errs, err)
		e.stopReason = "blocked by release gates"
	case failUnhealthy:
		e.unhealthySkip = "production was found unhealthy"
		if _, ok := errors.AsType[*ProductionChangedError](err); ok {
			err = &StepError{Step: s.name, Err: err}
			e.unhealthySkip = "the deploy failed after changing production"
		}
		e.errs = append(e.errs, err)
		e.unhealthy = err
		e.res.Unhealthy = err.Error()
		e.checkpoint(ctx)
		e.runUnhealthyHandlers(ctx, table)
	case failUnverified:
		e.errs = append(e.errs, &StepError{Step: s.name, Err: err})
	default:
		e.errs = append(e.errs, &StepError{Step: s.name, Err: err})
		e.failed = true
		e.stopReason = "an earlier step failed"
		if e.interrupted {
			e.stopReason = "the run was interrupted"
		}
	}
}

// runUnhealthyHandlers runs, right away, the steps that answer production
// being found unhealthy (the rollback), before the run goes on.
func (e *execution) runUnhealthyHandlers(ctx context.Context, table []stepSpec) {
	for _, s := range table {
		if s.onUnhealthy && !e.ran[s.name] {
			e.ran[s.name] = true
			e.step(ctx, table, s)
		}
	}
}

// failPrepare records a step whose preparation failed: the run stops.
func (e *execution) failPrepare(s stepSpec, err error) {
	err = &StepError{Step: s.name, Err: err}
	title := s.title(e)
	if e.plan == nil {
		e.res.Steps = append(e.res.Steps, StepRecord{Step: s.name, Title: title, Status: StepFailed, Error: err.Error(), StartedAt: e.clock.Now()})
		e.emit(Event{Step: s.name, Kind: EventFailed, Title: title, Err: err})
	}
	e.errs = append(e.errs, err)
	e.failed = true
	e.stopReason = "an earlier step failed"
}

// skip records a step that does not run.
func (e *execution) skip(s stepSpec, reason string) {
	title := s.title(e)
	if e.plan != nil {
		e.plan.Steps = append(e.plan.Steps, PlannedStep{Step: s.name, Title: title, Skipped: true, Reason: reason})
		return
	}
	e.res.Steps = append(e.res.Steps, StepRecord{Step: s.name, Title: title, Status: StepSkipped, Reason: reason, StartedAt: e.clock.Now()})
	e.emit(Event{Step: s.name, Kind: EventSkipped, Title: title, Reason: reason})
	e.checkpoint(context.Background())
}

// resumes reports whether s is a step the resumed run finished, whose
// outputs this run reuses.
func (e *execution) resumes(s stepSpec) bool {
	return e.prev != nil && s.resumed != nil && doneIn(e.prev, s.name) && s.resumed(e)
}

// recordResumed records a step the resumed run had done.
func (e *execution) recordResumed(ctx context.Context, s stepSpec) {
	verb := "which this one resumes"
	if e.plan != nil {
		verb = "which ship resumes"
	}
	reason := "done by the run of " + e.prev.StartedAt.Format(time.RFC3339) + ", " + verb
	title := s.title(e)
	if e.plan != nil {
		e.plan.Steps = append(e.plan.Steps, PlannedStep{Step: s.name, Title: title, Skipped: true, Reason: reason})
		return
	}
	e.res.Steps = append(e.res.Steps, StepRecord{Step: s.name, Title: title, Status: StepSkipped, Reason: reason, Resumed: true, StartedAt: e.clock.Now()})
	e.emit(Event{Step: s.name, Kind: EventSkipped, Title: title, Reason: reason})
	e.checkpoint(ctx)
}

// list adds s to the plan with its actions; read-only steps run.
func (e *execution) list(ctx context.Context, s stepSpec, condition string) {
	if s.readOnly {
		if _, err := s.run(e, ctx); err != nil {
			e.errs = append(e.errs, err)
		}
	}
	actions, err := e.actionsFor(ctx, s)
	if err != nil {
		e.errs = append(e.errs, &StepError{Step: s.name, Err: err})
		e.stopReason = "the plan could not be made"
		return
	}
	e.plan.Steps = append(e.plan.Steps, PlannedStep{Step: s.name, Title: s.title(e), Condition: condition, Actions: actions})
}

func (e *execution) emit(ev Event) {
	e.emitMu.Lock()
	defer e.emitMu.Unlock()
	ev.Time = e.clock.Now()
	e.log.Debug("step event", "step", ev.Step, "event", ev.Kind, "reason", ev.Reason)
	if e.p.Observer != nil {
		e.p.Observer.Observe(ev)
	}
}

func (e *execution) warn(msg string) {
	if !slices.Contains(e.res.Warnings, msg) {
		e.res.Warnings = append(e.res.Warnings, msg)
	}
}

// checkpoint saves the result so far in the journal, once the run has made
// (or resumed) a release. A journal that cannot be written is a warning: the
// release goes on, only the ability to resume it is lost.
func (e *execution) checkpoint(ctx context.Context) {
	if e.plan != nil || e.p.Journal == nil || !e.journaling {
		return
	}
	if err := e.p.Journal.Save(context.WithoutCancel(ctx), e.res); err != nil {
		e.log.Warn("cannot write the journal", "err", err)
		e.warn("journal: " + err.Error())
	}
}

// outcome is the run's outcome once its steps are done.
func (e *execution) outcome() Outcome {
	switch {
	case e.res.Outcome != "":
		return e.res.Outcome
	case e.unhealthy != nil && e.res.Rollback != nil && e.res.Rollback.Restored.ID != "":
		// Production runs the previous release again, even if its health
		// check failed too (the error says so).
		return OutcomeRolledBack
	case e.unhealthy != nil:
		return OutcomeUnhealthy
	case e.interrupted:
		return OutcomeInterrupted
	case e.failed:
		return OutcomeFailed
	case e.res.Deployment == nil:
		return OutcomeReleased
	case len(e.notVerified()) > 0:
		return OutcomeNotVerified
	}
	return OutcomeShipped
}

// snapshot is the Result as the run would end now: its outcome, its errors
// and why it is not verified, as the reports, the records and the
// notification tell them. The Result's own Outcome stays unset until the
// run ends, so that a journal written while the monitor watches says the
// run is not finished.
func (e *execution) snapshot() Result {
	res := *e.res
	res.Outcome = e.outcome()
	res.Error = e.errText()
	if res.Outcome == OutcomeNotVerified {
		res.NotVerified = e.notVerified()
	}
	return res
}

// notVerified says why a live release is not verified: nothing checked it,
// or the monitor could not judge it.
func (e *execution) notVerified() []string {
	var reasons []string
	if e.p.Health == nil && e.p.Monitor == nil {
		reasons = append(reasons, "no health checks and no monitor are configured: nothing verified the release")
	}
	if s, ok := e.res.Step(StepMonitor); ok && s.Status == StepFailed {
		reasons = append(reasons, "the monitor could not run: "+s.Error)
	}
	if m := e.res.Monitor; m != nil && m.Verdict != VerdictPassed && m.Verdict != VerdictFailed {
		reasons = append(reasons, fmt.Sprintf("the monitor's verdict is %s: %s", m.Verdict, m.Reason))
	}
	return reasons
}

// errText is the text of the run's errors so far ("" when none).
func (e *execution) errText() string {
	if err := errors.Join(e.errs...); err != nil {
		return err.Error()
	}
	return ""
}

// configWarnings are what the configuration leaves unchecked, for the plan
// and the result: Spec-Flow's "insufficient health checks" and "no
// post-deploy monitoring" anti-patterns.
func (p *Pipeline) configWarnings() []string {
	var w []string
	if p.Deployer == nil {
		w = append(w, "no Deployer is configured: the release is tagged and published, not deployed")
		return w
	}
	if p.Health == nil {
		w = append(w, "no health checks are configured: nothing checks production right after the deploy")
	}
	if p.Monitor == nil {
		w = append(w, "no monitor is configured: production is not watched after the deploy, and nothing rolls it back on its own when it degrades")
	}
	return w
}
