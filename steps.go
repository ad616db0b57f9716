package shipprod

import (
	"cmp"
	"context"
	"errors"
	"fmt"
)

// StepName names a step of the Pipeline.
type StepName string

// The steps, in the order the Pipeline runs them. The rollback runs as soon
// as a step finds production unhealthy; when nothing does, it is recorded
// as skipped in its place.
const (
	StepGates       StepName = "gates"
	StepPreflight   StepName = "preflight"
	StepVersion     StepName = "version"
	StepTag         StepName = "tag"
	StepBaseline    StepName = "baseline"
	StepDeploy      StepName = "deploy"
	StepHealth      StepName = "health"
	StepReport      StepName = "report"
	StepRollout     StepName = "rollout"
	StepMonitor     StepName = "monitor"
	StepRollback    StepName = "rollback"
	StepFinalReport StepName = "final-report"
	StepArchive     StepName = "archive"
	StepNotify      StepName = "notify"
)

// failure says what a step's error means for the run.
type failure int

const (
	// failStop: the run fails; every later step is skipped (but the
	// report, once a release exists).
	failStop failure = iota
	// failBlock: a gate refused; nothing is changed and the run stops.
	failBlock
	// failUnhealthy: production was found unhealthy; the failure policy
	// applies (the rollback step runs at once) and the run goes on to
	// report it.
	failUnhealthy
	// failWarn: the step's failure is a warning; the run goes on.
	failWarn
	// failUnverified: production was not judged (the monitor could not
	// run); the run goes on to report it and ends not verified.
	failUnverified
)

// stepSpec describes one step: everything the executor, Plan and the
// journal need to know about it. The table (Pipeline.steps) is the one
// place a step is described.
type stepSpec struct {
	name StepName
	// title is the step's human line, e.g. "Creating git tag v2.7.0".
	title func(*execution) string
	// impl is the implementation the step calls; nil means it is not
	// configured, and the step is skipped with the reason none.
	impl any
	none string
	// skip says why the step does not run in this run, "" when it does.
	// Plan evaluates it too, so it must only look at the configuration,
	// the journal and what earlier steps recorded.
	skip func(*execution) string
	// condition is set for a step that runs only if something happens; Plan
	// shows it (and leaves its actions out of Plan.Actions).
	condition string
	// onUnhealthy: the step runs as soon as another step finds production
	// unhealthy, rather than in its place.
	onUnhealthy bool
	// afterFailure: the step still runs after a failed step (once the
	// run has made a release): the report says what failed.
	afterFailure bool
	// always: the step runs whatever happened before it (the notification).
	always bool
	// survivesCancel: the step runs even after the run was interrupted,
	// on a context of its own (bounded by cleanupTimeout): the report and
	// the notification say what happened.
	survivesCancel bool
	// readOnly steps are run by Plan too (they change nothing).
	readOnly bool
	// startsJournal: from this step's start on, the run is journaled (the
	// version step: a run killed while it applies its release must be
	// seen as such by the next one).
	startsJournal bool
	// prepare runs before the step's skip is evaluated, in Plan and Run
	// alike; it may only read (the version decision and the journal).
	prepare func(*execution, context.Context) error
	// resumed, when set, makes the step one a resuming run does not repeat
	// once the journaled run finished it: it restores the step's outputs
	// from the journal and returns false when they are missing (the step
	// then runs again). Steps without it (checks, reports, the monitor)
	// always run again.
	resumed func(*execution) bool
	// ownActions: the implementation lists the step's actions when it is
	// an ActionPlanner.
	ownActions bool
	// action is the step's single planned action otherwise; nil means the
	// step makes no change.
	action func(e *execution, impl string) Action
	// run performs the step and returns a warning worth telling.
	run func(*execution, context.Context) (warning string, err error)
	// classify says what run's error means; nil means failStop.
	classify func(error) failure
}

// steps is the Pipeline's table of steps. Adding a step is adding an entry.
func (p *Pipeline) steps() []stepSpec {
	return []stepSpec{
		{name: StepGates, impl: p.Gates, none: "no GateSource configured", readOnly: true,
			title: fixed("Verifying release gates"), run: (*execution).checkGates, classify: always(failBlock)},
		{name: StepPreflight, impl: p, readOnly: true, title: fixed("Checking that every step can do its part"),
			prepare: (*execution).decide, skip: (*execution).skipPreflight, run: (*execution).preflight},
		{name: StepVersion, impl: p.Versioner, none: reasonGivenRelease, resumed: (*execution).keep, startsJournal: true,
			ownActions: true, title: (*execution).versionTitle, action: (*execution).versionAction, run: (*execution).applyVersion},
		{name: StepTag, impl: p.Tagger, none: "no Tagger configured", resumed: (*execution).keep,
			ownActions: true, title: (*execution).tagTitle, action: (*execution).tagAction, run: (*execution).tag},
		{name: StepBaseline, impl: p.Monitor, none: "no Monitor configured", resumed: (*execution).resumeBaseline,
			title: fixed("Capturing production baseline"), run: (*execution).captureBaseline, classify: always(failWarn)},
		{name: StepDeploy, impl: p.Deployer, none: "no Deployer configured", resumed: (*execution).resumeDeployment,
			skip: (*execution).skipDeploy, ownActions: true, title: (*execution).deployTitle, action: (*execution).deployAction,
			run: (*execution).deploy, classify: unhealthyIf[*ProductionChangedError]},
		{name: StepHealth, impl: p.Health, none: "no HealthChecker configured", skip: (*execution).skipUndeployed,
			ownActions: true, title: fixed("Running health checks"), action: simpleAction(ActionCheck, "run health checks with "),
			run: (*execution).checkHealth, classify: unhealthyIf[*HealthCheckError]},
		{name: StepReport, impl: p.Reporter, none: "no Reporter configured", afterFailure: true, survivesCancel: true,
			ownActions: true, title: fixed("Writing ship report"), action: reportAction, run: (*execution).writeReport},
		{name: StepRollout, impl: p.Deployer, none: "no Deployer configured", skip: (*execution).skipRollout,
			resumed: (*execution).resumeRollout, title: (*execution).rolloutTitle, action: (*execution).rolloutAction,
			run: (*execution).rollout, classify: unhealthyIf[*MonitorError]},
		{name: StepMonitor, impl: p.Monitor, none: "no Monitor configured", skip: (*execution).skipMonitor,
			ownActions: true, title: fixed("Monitoring production"), action: simpleAction(ActionWatch, "watch production with "),
			run: (*execution).watch, classify: monitorFailure},
		{name: StepRollback, impl: p.Deployer, none: "nothing is deployed", onUnhealthy: true,
			condition: "only if health checks or the monitor find production unhealthy",
			resumed:   (*execution).resumeRollback, skip: (*execution).skipRollback,
			title: (*execution).rollbackTitle, action: (*execution).rollbackAction, run: (*execution).rollback},
		{name: StepFinalReport, impl: p.Reporter, none: "no report was written", afterFailure: true, survivesCancel: true,
			skip: (*execution).skipFinalReport, ownActions: true, title: fixed("Updating ship report"), action: reportAction,
			run: (*execution).writeFinalReport},
		{name: StepArchive, impl: p.Archiver, none: "no Archiver configured: the reports stay in the working tree", afterFailure: true,
			survivesCancel: true, skip: (*execution).skipArchive, ownActions: true, title: fixed("Keeping the run's records"),
			action: simpleAction(ActionCommit, "keep the run's records with "), run: (*execution).archive, classify: always(failWarn)},
		{name: StepNotify, impl: p.Notifier, none: "no Notifier configured", always: true, survivesCancel: true,
			ownActions: true, title: fixed("Sending notifications"), action: simpleAction(ActionAPI, "send the outcome with "),
			run: (*execution).notify, classify: always(failWarn)},
	}
}

// reasonGivenRelease is why the version step is skipped without a Versioner.
const reasonGivenRelease = "no Versioner configured; shipping the release as given"

func fixed(title string) func(*execution) string { return func(*execution) string { return title } }

func always(f failure) func(error) failure { return func(error) failure { return f } }

// simpleAction is an action whose description is a verb and the
// implementation's name.
func simpleAction(kind ActionKind, verb string) func(*execution, string) Action {
	return func(_ *execution, impl string) Action {
		return Action{Kind: kind, Target: impl, Description: verb + impl}
	}
}

func reportAction(_ *execution, impl string) Action {
	return Action{Kind: ActionWriteFile, Target: impl, Description: "write the ship report with " + impl}
}

func (e *execution) versionTitle() string {
	rel := e.res.Release
	switch {
	case rel.PreviousVersion != "":
		return fmt.Sprintf("Bumping version %s → %s", rel.PreviousVersion, rel.Version)
	case rel.Version != "":
		return "Setting first version " + rel.Version
	}
	return "Bumping version"
}

func (e *execution) versionAction(impl string) Action {
	v := e.res.Release.Version
	return Action{Kind: ActionCommit, Target: v, Description: fmt.Sprintf("write version %s with %s and commit it", v, impl)}
}

func (e *execution) tagTitle() string { return "Creating git tag " + e.res.Release.Tag }

func (e *execution) tagAction(impl string) Action {
	tag := e.res.Release.Tag
	return Action{Kind: ActionTag, Target: tag, Description: fmt.Sprintf("create and publish tag %s with %s", tag, impl)}
}

func (e *execution) releaseName() string { return cmp.Or(e.res.Release.Tag, e.res.Release.Version) }

func (e *execution) deployTitle() string { return "Deploying " + e.releaseName() + " to production" }

func (e *execution) deployAction(impl string) Action {
	return Action{Kind: ActionDeploy, Target: impl, Description: fmt.Sprintf("deploy %s with %s", e.releaseName(), impl)}
}

// targetName names the rollback's target for humans.
func (e *execution) targetName() string {
	t := e.rollbackTarget()
	return cmp.Or(t.Tag, t.Version, shortSHA(t.Commit), "the previous release")
}

func (e *execution) rollbackTitle() string { return "Rolling back to " + e.targetName() }

func (e *execution) rollbackAction(impl string) Action {
	return Action{Kind: ActionRollback, Target: impl,
		Description: fmt.Sprintf("roll production back to %s with %s and check its health", e.targetName(), impl)}
}

func shortSHA(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// unhealthyIf classifies errors of type E as production found unhealthy and
// any other error as a failure of the step.
func unhealthyIf[E error](err error) failure {
	if _, ok := errors.AsType[E](err); ok {
		return failUnhealthy
	}
	return failStop
}

// monitorFailure: a failed gate means production is unhealthy; a monitor
// that could not run leaves production unjudged.
func monitorFailure(err error) failure {
	if _, ok := errors.AsType[*MonitorError](err); ok {
		return failUnhealthy
	}
	return failUnverified
}

// describe names a step implementation for humans: its String method if it
// has one, else its type.
func describe(impl any) string {
	if s, ok := impl.(fmt.Stringer); ok {
		return s.String()
	}
	return fmt.Sprintf("%T", impl)
}
