package shipprod

import (
	"time"
)

// Bump names the kind of version increment a release makes.
type Bump string

// The bumps a Versioner may decide.
const (
	BumpNone       Bump = "none"       // nothing releasable since the last version
	BumpPatch      Bump = "patch"      // x.y.Z
	BumpMinor      Bump = "minor"      // x.Y.0
	BumpMajor      Bump = "major"      // X.0.0
	BumpPrerelease Bump = "prerelease" // x.y.z-rc.N
	BumpExact      Bump = "exact"      // a version given explicitly
)

// Reason is one piece of evidence behind a version decision: a commit, a
// CHANGELOG entry or an explicit request.
type Reason struct {
	// Source says where the evidence comes from, e.g. "commit 1a2b3c4" or
	// "CHANGELOG.md:12" or "config version.bump".
	Source string `json:"source"`
	// Text is the evidence itself, e.g. the commit subject.
	Text string `json:"text"`
	// Bump is what this piece of evidence asks for.
	Bump Bump `json:"bump"`
}

// Release is the version being shipped. The Versioner fills in the version
// fields, the Tagger the tag and the hosted release; every field is a plain
// value so that a run can be journaled and resumed.
type Release struct {
	Version         string   `json:"version"`                    // "2.7.0", without the tag prefix
	PreviousVersion string   `json:"previous_version,omitempty"` // "" for a first release
	Tag             string   `json:"tag"`                        // "v2.7.0"
	PreviousTag     string   `json:"previous_tag,omitempty"`     // "v2.6.3"
	Bump            Bump     `json:"bump,omitempty"`
	Reasons         []Reason `json:"reasons,omitempty"`
	// Notes is the release's CHANGELOG section: the annotated tag message and
	// the hosted release body.
	Notes string `json:"notes,omitempty"`
	// Files lists the paths (relative to the repository) the version bump writes.
	Files []string `json:"files,omitempty"`
	// Commit is the full SHA of the release (bump) commit once it exists.
	Commit string `json:"commit,omitempty"`
	// PreviousCommit is the commit the previous release tag points at; a
	// rollback returns production to it.
	PreviousCommit string `json:"previous_commit,omitempty"`
	// Base is the commit the release was decided at (HEAD when NextVersion
	// ran); ApplyVersion refuses to apply the release on any other commit.
	Base string `json:"base,omitempty"`
	// Branch is the branch the release commit is on, Remote the git remote
	// the commit and tag are pushed to.
	Branch string `json:"branch,omitempty"`
	Remote string `json:"remote,omitempty"`
	// ReleaseURL is the hosted release page (e.g. the GitHub Release), if any.
	ReleaseURL string `json:"release_url,omitempty"`
	// Warnings are things worth knowing about the decision that did not
	// stop it (a version.trust override, an ignored footer, …).
	Warnings []string `json:"warnings,omitempty"`
}

// Previous describes the release that production ran before r, for a rollback
// and for its health checks. It is zero when r is a first release.
func (r Release) Previous() Release {
	if r.PreviousVersion == "" {
		return Release{}
	}
	return Release{
		Version: r.PreviousVersion,
		Tag:     r.PreviousTag,
		Commit:  r.PreviousCommit,
		Branch:  r.Branch,
		Remote:  r.Remote,
	}
}

// Deployment is what a Deployer did: where the release runs now and how to
// undo it.
type Deployment struct {
	// Provider is the registered name of the deployer ("git-push", "vercel", …).
	Provider string `json:"provider"`
	// ID identifies the deployment at the provider (a Vercel dpl_ id, a
	// workflow run id, the pushed commit for git push).
	ID string `json:"id"`
	// URL is the production URL the deployment serves, when the provider knows it.
	URL         string `json:"url,omitempty"`
	Environment string `json:"environment,omitempty"`
	// Commit is the commit that was deployed.
	Commit string `json:"commit,omitempty"`
	// Version and Tag name the release the deployment runs, when known.
	Version    string    `json:"version,omitempty"`
	Tag        string    `json:"tag,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	// PreviousID identifies what production served before this deployment,
	// the target of a rollback ("" when unknown or a first deployment).
	PreviousID string `json:"previous_id,omitempty"`
	// RollbackSteps are the exact commands (or API calls) that roll this
	// deployment back by hand; the ship report prints them.
	RollbackSteps []string `json:"rollback_steps,omitempty"`
	// Details holds provider-specific facts worth reporting (run URL, alias, …).
	// Never put secrets here.
	Details map[string]string `json:"details,omitempty"`
}

// HealthStatus is the outcome of one health check.
type HealthStatus string

// Health check outcomes. Warn counts as passing but is reported.
const (
	HealthPass HealthStatus = "pass"
	HealthWarn HealthStatus = "warn"
	HealthFail HealthStatus = "fail"
)

// CheckResult is the outcome of one health check.
type CheckResult struct {
	Name string `json:"name"`
	// Kind is the check's kind ("http", "version", "tcp", "sql", …).
	Kind string `json:"kind"`
	// Target is what was checked (URL, address), with any secret masked.
	Target   string        `json:"target,omitempty"`
	Status   HealthStatus  `json:"status"`
	Attempts int           `json:"attempts"`
	Latency  time.Duration `json:"latency"`
	// Message says what was observed ("200 OK", "version 2.7.0").
	Message string `json:"message,omitempty"`
	// Error says why the check failed, with any secret masked.
	Error string `json:"error,omitempty"`
}

// HealthReport is the outcome of a round of health checks.
type HealthReport struct {
	CheckedAt time.Time     `json:"checked_at"`
	Duration  time.Duration `json:"duration"`
	Checks    []CheckResult `json:"checks"`
}

// Failed returns the checks that failed.
func (h HealthReport) Failed() []CheckResult {
	var failed []CheckResult
	for _, c := range h.Checks {
		if c.Status == HealthFail {
			failed = append(failed, c)
		}
	}
	return failed
}

// OK reports whether no check failed.
func (h HealthReport) OK() bool { return len(h.Failed()) == 0 }

// Verdict is the outcome of a monitor window or of one of its gates, in the
// style of Argo Rollouts' analysis phases.
type Verdict string

// Monitor verdicts. Error means the metrics source itself failed; it is never
// counted as a production failure.
const (
	VerdictPassed       Verdict = "passed"
	VerdictFailed       Verdict = "failed"
	VerdictInconclusive Verdict = "inconclusive"
	VerdictError        Verdict = "error"
)

// MonitorGateResult summarises one monitor gate over the window.
type MonitorGateResult struct {
	Name         string  `json:"name"`
	Verdict      Verdict `json:"verdict"`
	Measurements int     `json:"measurements"`
	Failures     int     `json:"failures"`
	Errors       int     `json:"errors"`
	Inconclusive int     `json:"inconclusive"`
	// Critical gates tolerate no failed measurement: the first one fails
	// them, whatever failure limit the gate has.
	Critical bool `json:"critical,omitempty"`
	// DryRun gates are evaluated and reported but never fail the window.
	DryRun bool `json:"dry_run,omitempty"`
	// Message explains the verdict, e.g.
	// "gate error-rate failed: value 3.2% vs threshold 1.5% (baseline 0.5%)".
	Message string `json:"message,omitempty"`
}

// MonitorPlan is what a Monitor will watch, stated before it starts: the
// plan and the ship report show it, so that a reader knows what "verified"
// will mean. A Monitor that can state it implements MonitorPlanner.
type MonitorPlan struct {
	Window       time.Duration `json:"window"`
	Interval     time.Duration `json:"interval"`
	InitialDelay time.Duration `json:"initial_delay,omitempty"`
	// DashboardURL links to a dashboard of production, when configured.
	DashboardURL string            `json:"dashboard_url,omitempty"`
	Gates        []MonitorGatePlan `json:"gates"`
}

// MonitorGatePlan is one gate of a MonitorPlan.
type MonitorGatePlan struct {
	Name string `json:"name"`
	// Kind is query, alerts or health.
	Kind string `json:"kind"`
	// Query is the PromQL query of a query gate.
	Query string `json:"query,omitempty"`
	// Condition is what passes, e.g. "at most +1 percentage points vs baseline".
	Condition string `json:"condition"`
	Critical  bool   `json:"critical,omitempty"`
	DryRun    bool   `json:"dry_run,omitempty"`
}

// MonitorPlanner is implemented by Monitors that can state their plan.
type MonitorPlanner interface {
	MonitorPlan() MonitorPlan
}

// MonitorReport is the outcome of watching production after a deploy.
type MonitorReport struct {
	StartedAt  time.Time           `json:"started_at"`
	FinishedAt time.Time           `json:"finished_at"`
	Window     time.Duration       `json:"window"`
	Verdict    Verdict             `json:"verdict"`
	Reason     string              `json:"reason,omitempty"`
	Gates      []MonitorGateResult `json:"gates"`
}

// FailurePolicy says what the Pipeline does when health checks or the monitor
// find production unhealthy after a deploy.
type FailurePolicy string

// Failure policies. The zero value means PolicyRollback.
const (
	// PolicyRollback rolls the deployment back (when the Deployer is a
	// Rollbacker), checks the restored version's health and reports both.
	PolicyRollback FailurePolicy = "rollback"
	// PolicyFreeze stops and reports; production is left as it is for a human.
	PolicyFreeze FailurePolicy = "freeze"
	// PolicyNotify only reports the failure.
	PolicyNotify FailurePolicy = "notify"
)

// RollbackReport records a rollback.
type RollbackReport struct {
	Reason string `json:"reason"`
	// Target is what the rollback restores: what production ran before the
	// failed deployment.
	Target     Release    `json:"target"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt time.Time  `json:"finished_at"`
	Restored   Deployment `json:"restored"`
	// Health is the health of the restored version, when it was checked.
	Health *HealthReport `json:"health,omitempty"`
	// Notes say what else was undone (a release tag deleted, …).
	Notes []string `json:"notes,omitempty"`
	// Warnings say what could not be checked or undone (the restored
	// version's health, the Tagger's part).
	Warnings []string `json:"warnings,omitempty"`
	Error    string   `json:"error,omitempty"`
	// Manual is set when a program asked for the rollback
	// (Pipeline.Rollback, as `shipprod rollback` does), rather than the
	// Pipeline on finding production unhealthy.
	Manual bool `json:"manual,omitempty"`
}

// GateResult is the verdict on one release gate.
type GateResult struct {
	// Name is the gate's name, e.g. "staging_validation".
	Name string `json:"name"`
	// Source is where the gate was read, e.g. "specs/001-login/state.yaml".
	Source string `json:"source"`
	// Key is the key that decided, e.g. "manual_gates.staging_validation.status".
	Key string `json:"key,omitempty"`
	// Found is the value found ("pending"); empty when the key is absent.
	Found string `json:"found"`
	// Required is the value that passes ("approved").
	Required string `json:"required"`
	Passed   bool   `json:"passed"`
	// Advisory gates that did not pass warn and do not block (a feature
	// whose state file is not at the ship phase, unless the configuration
	// requires it).
	Advisory bool `json:"advisory,omitempty"`
	// Hint says what to do next when the gate did not pass ("run /validate-staging").
	Hint string `json:"hint,omitempty"`
}

// GateReport is what a GateSource found.
type GateReport struct {
	// Source is the file or system the gates were read from.
	Source string `json:"source"`
	// Notes explain choices the source made, e.g. which state file it picked.
	Notes []string     `json:"notes,omitempty"`
	Gates []GateResult `json:"gates"`
}

// Blocking returns the gates that did not pass and are not advisory.
func (g GateReport) Blocking() []GateResult {
	var out []GateResult
	for _, r := range g.Gates {
		if !r.Passed && !r.Advisory {
			out = append(out, r)
		}
	}
	return out
}

// Warnings returns the advisory gates that did not pass.
func (g GateReport) Warnings() []GateResult {
	var out []GateResult
	for _, r := range g.Gates {
		if !r.Passed && r.Advisory {
			out = append(out, r)
		}
	}
	return out
}
