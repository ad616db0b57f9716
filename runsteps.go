package shipprod

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The run functions of the step table, in the order of the table.

func (e *execution) checkGates(ctx context.Context) (string, error) {
	report, err := e.p.Gates.CheckGates(ctx)
	e.res.Gates = report
	if e.plan != nil {
		e.plan.Gates = report
	}
	if err != nil {
		return "", &GateBlockedError{Gates: report.Blocking(), Err: err}
	}
	if blocking := report.Blocking(); len(blocking) > 0 {
		return "", &GateBlockedError{Gates: blocking}
	}
	var warnings []string
	for _, g := range report.Warnings() {
		warnings = append(warnings, DescribeGate(g))
	}
	return strings.Join(warnings, "; "), nil
}

// decide makes the version decision (or takes the confirmed plan's) and
// works out whether this run resumes a journaled one. It only reads.
func (e *execution) decide(ctx context.Context) error {
	if err := e.recoverApply(ctx); err != nil {
		return err
	}
	if e.confirmed != nil {
		e.decision, e.decideErr = e.confirmed.decision, e.confirmed.decideErr
	} else if e.p.Versioner != nil {
		e.decision, e.decideErr = e.p.Versioner.NextVersion(ctx)
	}
	last, err := e.p.loadJournal(ctx)
	if err != nil {
		return err
	}
	prev, note := e.p.resumePoint(last, e.decision, e.decideErr)
	if last != nil {
		e.res.RolledBackBuilds = last.RolledBackBuilds
	}
	if e.confirmed != nil && !sameRun(prev, e.confirmed.resumes) {
		return errors.New("the journal changed since the plan was made: make the plan again")
	}
	if note != "" {
		e.log.Info(note)
		e.warn(note)
	}
	switch {
	case prev != nil:
		e.resume(prev)
	case e.p.Versioner == nil:
		e.released, e.journaling = true, e.plan == nil
	case errors.Is(e.decideErr, ErrNothingToRelease):
		e.res.Release = e.decision
		e.res.Outcome = OutcomeNothingToRelease
		e.stopReason = e.decideErr.Error()
	case e.decideErr != nil:
		return e.decideErr
	default:
		e.res.Release = e.decision
		for _, w := range e.decision.Warnings {
			e.warn("version: " + w)
		}
	}
	if e.plan != nil {
		e.plan.Release, e.plan.Note = e.res.Release, note
		e.plan.decision, e.plan.decideErr = e.decision, e.decideErr
		e.plan.resumes = prev
	}
	return nil
}

// resume takes over the journaled run prev: its release and, when it had
// found production unhealthy, that verdict, so that this run applies the
// failure policy (a rollback killed half-way is resumed as a rollback)
// instead of checking the release again.
func (e *execution) resume(prev *Result) {
	e.prev, e.released, e.journaling = prev, true, true
	e.res.Release, e.res.ResumedFrom = prev.Release, prev.StartedAt
	e.res.PreviousProduction = prev.PreviousProduction
	if prev.Unhealthy == "" {
		return
	}
	e.res.Unhealthy, e.res.Health, e.res.Monitor = prev.Unhealthy, prev.Health, prev.Monitor
	if prev.Deployment != nil {
		// The deploy is not repeated (skipDeploy): what it deployed is
		// what the failure policy applies to.
		dep := *prev.Deployment
		e.res.Deployment = &dep
	}
	var err error = &ResumedUnhealthyError{Reason: prev.Unhealthy}
	switch {
	case prev.Health != nil && !prev.Health.OK():
		err = &HealthCheckError{Report: *prev.Health}
	case prev.Monitor != nil && prev.Monitor.Verdict == VerdictFailed:
		err = &MonitorError{Report: *prev.Monitor}
	}
	e.unhealthy = err
	e.unhealthySkip = "production was found unhealthy by the run this one resumes"
	e.errs = append(e.errs, err)
}

// recoverApply lets the Versioner clean up after a run that was killed while
// it applied its release (Pipeline.Recover). Plan only looks; it changes
// nothing.
func (e *execution) recoverApply(ctx context.Context) error {
	if e.plan != nil {
		return nil
	}
	note, err := e.p.Recover(ctx)
	if note != "" {
		e.warn(note)
	}
	return err
}

// Recover cleans up after a run that was killed while it applied its
// release (the journal says the version step was running): a Versioner that
// is an ApplyRecoverer restores the files it was writing. Run and RunPlan
// do it first; Plan does not (it changes nothing), so a program that shows
// a plan before running it calls Recover before Plan, or the half-written
// files make the plan refuse a dirty tree. note says what was done ("" when
// there was nothing to do).
func (p *Pipeline) Recover(ctx context.Context) (note string, err error) {
	ar, ok := p.Versioner.(ApplyRecoverer)
	if !ok {
		return "", nil
	}
	last, err := p.loadJournal(ctx)
	if err != nil || last == nil || last.Outcome != "" {
		return "", err
	}
	if s, ok := last.Step(StepVersion); !ok || s.Status != StepRunning {
		return "", nil
	}
	note, err = ar.RecoverApply(ctx, last.Release)
	if err != nil {
		return "", fmt.Errorf("cleaning up after the run of %s, which was cut short while it applied %s: %w", last.StartedAt.Format(time.RFC3339), last.Release.Tag, err)
	}
	return note, nil
}

// sameRun reports whether two journaled runs are the same one.
func sameRun(a, b *Result) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.StartedAt.Equal(b.StartedAt)
}

func (e *execution) applyVersion(ctx context.Context) (string, error) {
	applied, err := e.p.Versioner.ApplyVersion(ctx, e.res.Release)
	if err != nil {
		return "", err
	}
	e.res.Release, e.released, e.journaling = applied, true, true
	return "", nil
}

func (e *execution) tag(ctx context.Context) (string, error) {
	tagged, err := e.p.Tagger.Tag(ctx, e.res.Release)
	if err != nil {
		return "", err
	}
	e.res.Release = tagged
	return "", nil
}

// captureBaseline measures production before the deploy changes it. A
// baseline that cannot be measured is a warning: the monitor's gates then
// report Error rather than blocking the release on a metrics outage.
func (e *execution) captureBaseline(ctx context.Context) (string, error) {
	b, err := e.p.Monitor.Baseline(ctx, e.res.Release)
	e.res.Baseline = &b
	if err != nil {
		return "", fmt.Errorf("baseline not captured: %w", err)
	}
	return "", nil
}

// keep reuses a step's outputs, which live in the resumed run's Release.
func (e *execution) keep() bool { return true }

func (e *execution) resumeRollback() bool {
	if e.prev.Rollback == nil {
		return false
	}
	rb := *e.prev.Rollback
	e.res.Rollback = &rb
	return true
}

func (e *execution) resumeBaseline() bool {
	if e.prev.Baseline == nil {
		return false
	}
	b := *e.prev.Baseline
	e.res.Baseline = &b
	return true
}

func (e *execution) deploy(ctx context.Context) (string, error) {
	if acc := e.acceptedBefore(); acc != nil {
		return e.follow(ctx, *acc)
	}
	warning := e.readProduction(ctx)
	ctx = context.WithValue(ctx, acceptedKey{}, func(dep Deployment) {
		e.res.Accepted = &dep
		e.checkpoint(ctx)
	})
	dep, err := e.p.Deployer.Deploy(ctx, e.res.Release)
	return warning, e.deployed(dep, err)
}

// acceptedBefore is the deployment the resumed run's deploy reported
// accepted and did not see through, if the Deployer can follow it.
func (e *execution) acceptedBefore() *Deployment {
	if e.prev == nil || e.prev.Accepted == nil {
		return nil
	}
	if s, ok := e.prev.Step(StepDeploy); !ok || s.Status == StepDone || s.Status == StepSkipped {
		return nil
	}
	if _, ok := DeployerAs[Follower](e.p.Deployer); !ok {
		return nil
	}
	return e.prev.Accepted
}

// follow waits for the deployment the resumed run started.
func (e *execution) follow(ctx context.Context, acc Deployment) (string, error) {
	f, _ := DeployerAs[Follower](e.p.Deployer)
	e.res.Accepted = &acc
	dep, err := f.Follow(ctx, acc, e.res.Release)
	return "followed deployment " + acc.ID + ", which the interrupted run had started", e.deployed(dep, err)
}

// deployed records what a deploy (or a follow) did.
func (e *execution) deployed(dep Deployment, err error) error {
	if err == nil && dep.ID == "" {
		return fmt.Errorf("deployer %s returned a deployment without an id: nothing says the release is live", describe(e.p.Deployer))
	}
	if changed, ok := errors.AsType[*ProductionChangedError](err); ok {
		// Production changed and then the deploy failed: its state is
		// unknown, so it is treated like a failed health check.
		dep, err = changed.Deployment, changed
	} else if err != nil {
		return err
	}
	dep.Version = cmp.Or(dep.Version, e.res.Release.Version)
	dep.Tag = cmp.Or(dep.Tag, e.res.Release.Tag)
	e.res.Deployment = &dep
	return err
}

// readProduction records what production runs before the deploy changes
// it, and journals it before going on: it is the rollback's target. A
// deployer that cannot tell leaves the target to the previous release.
func (e *execution) readProduction(ctx context.Context) string {
	pr, ok := DeployerAs[ProductionReader](e.p.Deployer)
	if !ok {
		return ""
	}
	cur, err := pr.Production(ctx)
	if err != nil {
		return "what production runs could not be read; a rollback would restore " + cmp.Or(e.res.Release.PreviousTag, "the previous release") + ": " + err.Error()
	}
	e.res.PreviousProduction = &cur
	e.checkpoint(ctx)
	return ""
}

func (e *execution) resumeDeployment() bool {
	if e.prev.Deployment == nil {
		return false
	}
	dep := *e.prev.Deployment
	e.res.Deployment = &dep
	return true
}

// skipDeploy skips the deploy of a release that the run this one resumes
// found unhealthy: the failure policy is applied to what it deployed (a
// rollback killed half-way goes on), rather than deploying it again.
func (e *execution) skipDeploy() string {
	if e.unhealthy != nil {
		return e.unhealthySkip
	}
	return ""
}

func (e *execution) checkHealth(ctx context.Context) (string, error) {
	hr, err := e.p.Health.Check(ctx, e.res.Release, *e.res.Deployment)
	if err != nil {
		return "", err
	}
	e.res.Health = &hr
	if !hr.OK() {
		return "", &HealthCheckError{Report: hr}
	}
	return "", nil
}

// writeReport writes the report of the outcome so far.
func (e *execution) writeReport(ctx context.Context) (string, error) {
	paths, err := e.p.Reporter.WriteReport(ctx, e.snapshot())
	e.res.Reports = paths
	return "", err
}

func (e *execution) skipMonitor() string {
	switch {
	case e.p.Deployer == nil:
		return "nothing is deployed"
	case hasShifter(e.p) && e.p.Monitor != nil:
		return "the rollout's stages are watched instead"
	}
	return e.skipUndeployed()
}

// skipUndeployed skips a step that looks at the deployment in production
// when there is none, or production was found unhealthy already.
func (e *execution) skipUndeployed() string {
	switch {
	case e.plan != nil:
		return ""
	case e.res.Deployment == nil:
		return "nothing was deployed"
	case e.unhealthy != nil:
		return e.unhealthySkip
	}
	return ""
}

func (e *execution) watch(ctx context.Context) (string, error) {
	var base MonitorBaseline
	if e.res.Baseline != nil {
		base = *e.res.Baseline
	}
	mr, err := e.p.Monitor.Watch(ctx, e.res.Release, *e.res.Deployment, base)
	if err != nil {
		return "", err
	}
	e.res.Monitor = &mr
	switch mr.Verdict {
	case VerdictFailed:
		return "", &MonitorError{Report: mr}
	case VerdictPassed:
		return "", nil
	}
	return fmt.Sprintf("monitor verdict %s: %s", mr.Verdict, mr.Reason), nil
}

func (e *execution) skipRollback() string {
	policy := e.p.policy()
	switch {
	case policy != PolicyRollback:
		if e.plan != nil {
			return fmt.Sprintf("policy %s: production is left as it is when unhealthy", policy)
		}
		return fmt.Sprintf("policy %s: production left as it is", policy)
	case !CanRollback(e.p.Deployer):
		return fmt.Sprintf("deployer %s cannot roll back", describe(e.p.Deployer))
	case e.plan == nil && e.unhealthy != nil && noTarget(e.rollbackTarget()) && e.res.Deployment.PreviousID == "":
		return "no previous release to roll back to"
	}
	return ""
}

func (e *execution) rollback(ctx context.Context) (string, error) {
	reason := e.unhealthy.Error()
	if changed, ok := errors.AsType[*ProductionChangedError](e.unhealthy); ok {
		reason = "the deploy failed after changing production: " + changed.Error()
	} else if _, ok := errors.AsType[*HealthCheckError](e.unhealthy); ok {
		reason = "health checks failed: " + reason
	}
	failed := *e.res.Deployment
	if sh, ok := e.p.shifter(); ok && e.res.Rollout != nil && !e.res.Rollout.Completed {
		// The release still shares traffic: aborting the rollout is the rollback.
		warning, err := e.abortRollout(ctx, sh, reason)
		e.noteRolledBack(failed)
		return warning, err
	}
	report, warning, err := e.p.rollBack(ctx, failed, e.rollbackTarget(), reason)
	e.res.Rollback = report
	e.noteRolledBack(failed)
	return warning, err
}

// noteRolledBack adds a deployment that was rolled back to the builds not
// to promote again.
func (e *execution) noteRolledBack(failed Deployment) {
	rb := e.res.Rollback
	if rb == nil || rb.Restored.ID == "" && rb.Error != "" {
		return
	}
	if !slices.ContainsFunc(e.res.RolledBackBuilds, func(d Deployment) bool { return d.ID == failed.ID }) {
		e.res.RolledBackBuilds = append(e.res.RolledBackBuilds, failed)
	}
}

// rollbackTarget is the release a rollback restores: what production ran
// before the deploy, as the Deployer read it; without that reading, the
// previous release.
func (e *execution) rollbackTarget() Release {
	rel := e.res.Release
	pp := e.res.PreviousProduction
	if pp == nil || (pp.Commit == "" && pp.Version == "") {
		return rel.Previous()
	}
	return Release{Version: pp.Version, Tag: pp.Tag, Commit: pp.Commit, Branch: rel.Branch, Remote: rel.Remote}
}

func (e *execution) skipFinalReport() string {
	report, ok := e.res.Step(StepReport)
	switch {
	case e.plan != nil && e.p.Monitor == nil:
		return "no Monitor configured"
	case e.plan != nil && e.p.Deployer == nil:
		return "nothing is deployed"
	case e.plan != nil:
		return ""
	case !ok || report.Status != StepDone:
		return "no report was written"
	case e.res.Monitor == nil && !e.ranAfter(StepReport):
		return "nothing changed since the report"
	}
	return ""
}

// ranAfter reports whether a step ran (done or failed) after step.
func (e *execution) ranAfter(step StepName) bool {
	after := false
	for _, s := range e.res.Steps {
		if after && (s.Status == StepDone || s.Status == StepFailed) {
			return true
		}
		after = after || s.Step == step
	}
	return false
}

func (e *execution) writeFinalReport(ctx context.Context) (string, error) {
	paths, err := e.p.Reporter.WriteReport(ctx, e.snapshot())
	if err == nil {
		e.res.Reports = paths
	}
	return "", err
}

func (e *execution) skipArchive() string {
	switch {
	case e.plan != nil:
		return ""
	case len(e.res.Reports) == 0:
		return "no report was written"
	}
	return ""
}

// archive keeps the records the run wrote, with its final outcome.
func (e *execution) archive(ctx context.Context) (string, error) {
	return "", e.p.Archiver.Archive(ctx, e.snapshot())
}

// notify sends the outcome; it runs last, whatever happened.
func (e *execution) notify(ctx context.Context) (string, error) {
	return "", e.p.Notifier.Notify(ctx, e.snapshot())
}

func noTarget(t Release) bool { return t.Version == "" && t.Commit == "" && t.Tag == "" }
