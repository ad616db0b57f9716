package cli

import (
	"github.com/shipprod/shipprod"
)

// The payloads of status, check, rollback and init --json, under the same
// contract as jsonschema.go's: every key always present, durations in
// _ms keys, Timestamps for times, and the nested types of jsonschema.go
// wherever the data is the same. docs/json.md documents every field.

// JSONStatus is a shipprod.status/v1 line: what production runs, how the
// last run ended, and whether a run holds the repository's lock.
type JSONStatus struct {
	Production *JSONProduction `json:"production"`
	LastRun    *JSONLastRun    `json:"last_run"`
	Lock       JSONLock        `json:"lock"`
	Config     string          `json:"config"`
	Journal    string          `json:"journal"`
	Notes      []string        `json:"notes"`
}

// JSONProduction is what production runs, and who says so.
type JSONProduction struct {
	// Source is deployer or journal.
	Source     string         `json:"source"`
	Release    JSONTarget     `json:"release"`
	Deployment JSONDeployment `json:"deployment"`
}

// JSONLastRun is the run the journal records.
type JSONLastRun struct {
	// Outcome is the run's outcome; a run that has not ended is running
	// (a run holds the lock) or stopped (it was killed).
	Outcome    string          `json:"outcome"`
	Release    JSONRelease     `json:"release"`
	Deployment *JSONDeployment `json:"deployment"`
	StartedAt  Timestamp       `json:"started_at"`
	FinishedAt Timestamp       `json:"finished_at"`
	DurationMS *int64          `json:"duration_ms"`
	Reports    []string        `json:"reports"`
	Error      string          `json:"error"`
	// Unfinished: the run made its release and stopped before its end
	// (failed, interrupted, or killed while running); the next ship
	// resumes it unless the repository moved on.
	Unfinished bool `json:"unfinished"`
	// RolledBack are the ids of the deployments runs rolled back.
	RolledBack []string `json:"rolled_back"`
	// Rollout is the run's staged rollout, with the stage it reached.
	Rollout *JSONRollout `json:"rollout"`
}

// JSONLock is the repository's lock, and the run that holds it.
type JSONLock struct {
	Held      bool      `json:"held"`
	PID       int       `json:"pid"`
	Host      string    `json:"host"`
	Command   string    `json:"command"`
	StartedAt Timestamp `json:"started_at"`
	Doing     string    `json:"doing"`
	UpdatedAt Timestamp `json:"updated_at"`
}

// JSONCheckReport is a shipprod.check/v1 line: whether the configuration
// is valid and ship could run. (JSONCheck is a health check.)
type JSONCheckReport struct {
	// OK is true when ship could run: the configuration is valid, no gate
	// blocks and every pre-flight check passed.
	OK     bool   `json:"ok"`
	Config string `json:"config"`
	// ConfigError is the mistake in the configuration, when there is one
	// (nothing else was checked).
	ConfigError string    `json:"config_error"`
	Gates       JSONGates `json:"gates"`
	// Release is what ship would release; null when nothing would be.
	Release          *JSONRelease         `json:"release"`
	NothingToRelease bool                 `json:"nothing_to_release"`
	Preflight        []JSONPreflightCheck `json:"preflight"`
	Warnings         []string             `json:"warnings"`
	Errors           []string             `json:"errors"`
}

// JSONPreflightCheck is one step's pre-flight check.
type JSONPreflightCheck struct {
	Step   string `json:"step"`
	Impl   string `json:"impl"`
	Passed bool   `json:"passed"`
	Error  string `json:"error"`
}

// JSONRollbackRun is a shipprod.rollback/v1 line: a rollback by hand.
// (JSONRollback is the rollback itself, as a run's result holds it.)
type JSONRollbackRun struct {
	// Outcome is rolled-back (production runs the target again, even if
	// its health check failed: see error), failed (nothing changed) or
	// manual (the deployer cannot roll back: manual_steps say how).
	Outcome     string          `json:"outcome"`
	From        *JSONProduction `json:"from"`
	Rollback    *JSONRollback   `json:"rollback"`
	DurationMS  int64           `json:"duration_ms"`
	Reports     []string        `json:"reports"`
	ManualSteps []string        `json:"manual_steps"`
	Warnings    []string        `json:"warnings"`
	Error       string          `json:"error"`
}

// JSONInit is a shipprod.init/v1 line: the configuration init wrote, what
// it found, and what to run next.
type JSONInit struct {
	Path     string         `json:"path"`
	Detected JSONDetected   `json:"detected"`
	Next     []JSONNextStep `json:"next"`
}

// JSONDetected is what init found in the project.
type JSONDetected struct {
	Remote           string      `json:"remote"`
	RemoteURL        string      `json:"remote_url"`
	GitHubRepository string      `json:"github_repository"`
	Branch           string      `json:"branch"`
	VersionFiles     []string    `json:"version_files"`
	Changelog        string      `json:"changelog"`
	StateFile        string      `json:"state_file"`
	Deployer         string      `json:"deployer"`
	Vercel           *JSONVercel `json:"vercel"`
	Workflow         string      `json:"workflow"`
}

// JSONVercel is the Vercel project .vercel/project.json links.
type JSONVercel struct {
	Project string `json:"project"`
	Team    string `json:"team"`
}

// JSONNextStep is a command to run after init, and why.
type JSONNextStep struct {
	Command string `json:"command"`
	Why     string `json:"why"`
}

func encodeProduction(r *running) *JSONProduction {
	if r == nil {
		return nil
	}
	return &JSONProduction{Source: r.Source, Release: encodeTarget(r.Release), Deployment: encodeDeployment(r.Deployment)}
}

func encodeLastRun(res *shipprod.Result) *JSONLastRun {
	out := &JSONLastRun{Outcome: string(res.Outcome), Release: encodeRelease(res.Release),
		Deployment: encodeDeploymentPtr(res.Deployment), StartedAt: Timestamp(res.StartedAt), FinishedAt: Timestamp(res.FinishedAt),
		Reports: list(res.Reports), Error: res.Error, Unfinished: unfinished(res), RolledBack: make([]string, len(res.RolledBackBuilds)),
		Rollout: encodeRollout(res.Rollout)}
	if out.Outcome == "" {
		// The run has not ended: it runs now (status says whether the
		// lock is held), or it was killed.
		out.Outcome = "unended"
	}
	if !res.FinishedAt.IsZero() {
		d := millis(res.FinishedAt.Sub(res.StartedAt))
		out.DurationMS = &d
	}
	for i, d := range res.RolledBackBuilds {
		out.RolledBack[i] = d.ID
	}
	return out
}

func encodeRollbackRun(r *rollbackRun, res *shipprod.Result, warnings []string) JSONRollbackRun {
	return JSONRollbackRun{Outcome: string(res.Outcome), From: encodeProduction(r.cur), Rollback: encodeRollbackReport(res.Rollback),
		DurationMS: millis(res.FinishedAt.Sub(res.StartedAt)), Reports: list(res.Reports), ManualSteps: []string{},
		Warnings: list(warnings), Error: res.Error}
}

func encodeDetection(d detection) JSONDetected {
	out := JSONDetected{Remote: d.Remote, RemoteURL: d.RemoteURL, GitHubRepository: d.GitHub, Branch: d.Branch,
		VersionFiles: list(d.VersionFiles), Changelog: d.Changelog, StateFile: d.StateFile, Deployer: d.Deployer, Workflow: d.Workflow}
	if v := d.Vercel; v != nil {
		out.Vercel = &JSONVercel{Project: v.Project, Team: v.Org}
	}
	return out
}
