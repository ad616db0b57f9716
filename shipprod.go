// Package shipprod promotes a validated staging build to production, end to
// end: it verifies the release gates, checks that every step can do its part,
// bumps the semantic version, tags and publishes the release, deploys it,
// checks its health, writes the ship report and watches production for a
// while, rolling back on its own when production degrades.
//
// The package owns the vocabulary — the step interfaces, the values that
// flow between them (Release, Deployment, HealthReport, MonitorReport,
// Result), the optional capabilities (capabilities.go) and the errors a
// caller acts on — and the Pipeline that runs the steps. Implementations
// live in sub-packages and an importer can replace any of them with its own.
//
// # The steps
//
// The Pipeline walks one table of steps; Run performs them, Plan lists them
// (running only the read-only ones), and the journal, the events and the
// Result all name them the same way:
//
//	step          interface      built-in implementation
//	gates         GateSource     gate.SpecFlow (Spec-Flow state.yaml), gate.Static, gate.Func
//	preflight     Preflighter    every implementation that talks to something (read-only)
//	version       Versioner      version.Versioner (Conventional Commits, CHANGELOG, version files)
//	tag           Tagger         tag.Tagger (annotated tag, atomic push, GitHub Release)
//	baseline      Monitor        monitor.Monitor (measured before the deploy)
//	deploy        Deployer       provider/gitpush, provider/vercel, provider/githubactions
//	health        HealthChecker  health.Checker (HTTP, version, TCP, DNS, SQL, Redis, command)
//	report        Reporter       report.Writer (Markdown and JSON), gate.StateWriter (Spec-Flow state.yaml)
//	rollout       TrafficShifter the Deployer's capability (Vercel Rolling Releases): stages, each watched (StageWatcher)
//	monitor       Monitor        monitor.Monitor (Prometheus, alert and health gates)
//	rollback      Rollbacker     the Deployer's capability; runs only when production is unhealthy
//	final-report  Reporter       the report again, with the monitor's verdict
//	archive       Archiver       report.GitArchiver (commits the reports and the state file, pushes them)
//	notify        Notifier       notify.Notifier (Slack-compatible or signed JSON webhooks)
//
// A nil step is skipped, and the skip is recorded in the events and the
// Result, never silent. Every side effect is planned first: Plan returns the
// list of actions Run would perform, without performing any, and Run
// reports the same list as it goes.
//
// # Outcomes
//
// A run ends shipped (live and verified: the health checks passed and, when
// configured, the monitor passed), not-verified (live, but nothing verified
// it, or the monitor could not judge), released (tagged and published, with
// no Deployer), rolled-back or unhealthy (production was found unhealthy),
// blocked (a gate refused), nothing-to-release, failed, or interrupted (a
// signal stopped it at a safe point). A failed or interrupted run that made
// its release is resumed by the next one (see Journal).
package shipprod

import (
	"context"
	"errors"
	"log/slog"
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

// HealthChecker checks a deployed release. Failing checks are reported in
// the HealthReport; an error means the checks could not run at all.
type HealthChecker interface {
	Check(ctx context.Context, rel Release, dep Deployment) (HealthReport, error)
}

// Reporter writes the ship report for a run and returns the paths it wrote.
// It is called after the health checks, and again at the end of the run
// when something happened since (the monitor's verdict, a rollback, a
// failure); each call gets the Result as the run would end at that point.
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

// Archiver keeps the records a run wrote (the ship report, the Spec-Flow
// state file: Result.Reports) where the team keeps them, for instance
// committed to the release branch. It runs after the final report, once
// the run made a release; a failure is a warning.
type Archiver interface {
	Archive(ctx context.Context, res Result) error
}

// Notifier tells people how a run ended: it is the last step, and it runs
// whatever the outcome (it decides itself which outcomes to send). The
// Result says what happened and, when production needs a human, what to
// do. A failure to notify is a warning; it never changes the outcome.
type Notifier interface {
	Notify(ctx context.Context, res Result) error
}

// Outcome is how a run ended.
type Outcome string

// Run outcomes.
const (
	// OutcomeShipped: the release is live and verified — the health checks
	// passed and, when a Monitor is configured, its window passed.
	OutcomeShipped Outcome = "shipped"
	// OutcomeNotVerified: the release is live but nothing verified it: no
	// health check and no monitor is configured, or the monitor ended in
	// error or inconclusive. Result.NotVerified says why.
	OutcomeNotVerified Outcome = "not-verified"
	// OutcomeReleased: the release was tagged and published, and not
	// deployed, because the Pipeline has no Deployer.
	OutcomeReleased         Outcome = "released"
	OutcomeNothingToRelease Outcome = "nothing-to-release"
	OutcomeBlocked          Outcome = "blocked"
	OutcomeFailed           Outcome = "failed"
	// OutcomeInterrupted: the run's context ended (a signal, a deadline)
	// before the run did. The journal says where it stopped; the next run
	// resumes it.
	OutcomeInterrupted Outcome = "interrupted"
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
	// StepRunning is the status of a step that started and has not ended:
	// the journal records it before the step changes anything, so a run
	// that was killed in the middle of a step is seen as such.
	StepRunning StepStatus = "running"
)

// StepRecord is one step of a finished run.
type StepRecord struct {
	Step      StepName      `json:"step"`
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
	// MonitorPlan is what the monitor watches, when it can say.
	MonitorPlan *MonitorPlan    `json:"monitor_plan,omitempty"`
	Deployment  *Deployment     `json:"deployment,omitempty"`
	Health      *HealthReport   `json:"health,omitempty"`
	Monitor     *MonitorReport  `json:"monitor,omitempty"`
	Rollback    *RollbackReport `json:"rollback,omitempty"`
	Steps       []StepRecord    `json:"steps"`
	// Reports are the paths the Reporter wrote.
	Reports  []string `json:"reports,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// ResumedFrom is when the run this one resumed started (zero when it
	// did not resume one).
	ResumedFrom time.Time `json:"resumed_from,omitzero"`
	// Rollout is how a staged rollout went (with Pipeline.Rollout).
	Rollout *RolloutReport `json:"rollout,omitempty"`
	// Accepted is the deployment the platform accepted while the deploy
	// step runs (ReportAccepted): a run that resumes this one follows it.
	Accepted *Deployment `json:"accepted,omitempty"`
	// PreviousProduction is what production ran right before the deploy,
	// as the Deployer read it (ProductionReader): the target of a rollback.
	PreviousProduction *Deployment `json:"previous_production,omitempty"`
	// Unhealthy says why production was found unhealthy, as soon as a step
	// found it so: a run that resumes this one applies the failure policy
	// (rolls back) instead of checking the release again.
	Unhealthy string `json:"unhealthy,omitempty"`
	// RolledBackBuilds are the deployments that runs rolled back as
	// unhealthy, carried from run to run in the journal: a deployer that
	// promotes an existing build refuses to promote one of them again
	// unless Pipeline.AllowRolledBack is set.
	RolledBackBuilds []Deployment `json:"rolled_back_builds,omitempty"`
	// NotVerified says why a live release is not verified (with
	// OutcomeNotVerified).
	NotVerified []string `json:"not_verified,omitempty"`
	// Error is the run's error, if it failed.
	Error string `json:"error,omitempty"`
}

// Step returns the record of the named step and whether it exists.
func (r *Result) Step(name StepName) (StepRecord, bool) {
	for _, s := range r.Steps {
		if s.Step == name {
			return s, true
		}
	}
	return StepRecord{}, false
}

// Pipeline runs the release steps in order (the package doc's table):
// gates, preflight, version, tag, baseline, deploy, health, report, rollout,
// monitor, final-report, archive, notify; the rollback runs as soon as a
// step finds production unhealthy. Any implementation may be nil: its step
// is then skipped and the skip recorded.
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
	Archiver  Archiver
	Notifier  Notifier

	// Release seeds the run. With a nil Versioner it is shipped as given
	// (e.g. to deploy an existing tag).
	Release Release

	// OnFailure says what to do when production is unhealthy after the
	// deploy. The zero value means PolicyRollback.
	OnFailure FailurePolicy

	// Rollout, with stages, sends the release to a share of production
	// traffic at a time when the Deployer is a TrafficShifter; each stage is
	// watched by the Monitor (a StageWatcher) before the next. nil: all
	// traffic at once.
	Rollout *Rollout

	// AllowRolledBack lets a deployer promote a build that an earlier run
	// rolled back as unhealthy (see Result.RolledBackBuilds); the run then
	// says so in its warnings. Without it the pre-flight refuses.
	AllowRolledBack bool

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

// Run performs the release. It returns the Result (never nil) and, unless
// the release shipped verified (or was released without a Deployer), an
// error: *GateBlockedError when a gate refused, *PreflightError when a step
// could not do its part (nothing was changed), *HealthCheckError or
// *MonitorError when production was unhealthy after the deploy
// (Result.Outcome says whether it was rolled back; a run that resumes one
// that found production unhealthy returns those errors again, or a
// *ResumedUnhealthyError when the journal kept only the reason),
// *NotVerifiedError when
// the release is live but nothing verified it, or a *StepError wrapping the
// failure of any other step. "Nothing to release" is not an error.
func (p *Pipeline) Run(ctx context.Context) (*Result, error) {
	return p.run(ctx, nil)
}

// RunPlan performs the release that plan, made by Plan, describes: the
// version is not decided again, so a commit that lands between the plan and
// the run does not change what ships (the Versioner refuses to apply a
// release on a commit other than the one it was decided at). The gates are
// checked again. It returns what Run returns.
func (p *Pipeline) RunPlan(ctx context.Context, plan *Plan) (*Result, error) {
	if plan == nil || !plan.made {
		return nil, errors.New("shipprod: RunPlan needs a plan made by Pipeline.Plan")
	}
	return p.run(ctx, plan)
}

func (p *Pipeline) run(ctx context.Context, confirmed *Plan) (*Result, error) {
	e := p.newExecution()
	e.confirmed = confirmed
	for _, w := range p.configWarnings() {
		e.warn(w)
	}
	e.walk(ctx)
	res := e.res
	res.FinishedAt = e.clock.Now()
	res.Outcome = e.outcome()
	if res.Outcome == OutcomeNotVerified {
		res.NotVerified = e.notVerified()
		e.errs = append(e.errs, &NotVerifiedError{Reasons: res.NotVerified})
	}
	err := errors.Join(e.errs...)
	if err != nil {
		res.Error = err.Error()
	}
	e.checkpoint(ctx)
	return res, err
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
