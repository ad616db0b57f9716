package cli

import (
	"encoding/json"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/version"
)

// The payloads of the JSON Lines that --json writes, one type per schema
// (the "schema" key, which every line starts with, is not part of them).
// docs/json.md documents every field; a test holds the two together.
//
// The contract: every key is always present (null, "", 0, false, [] or {}
// when it does not apply), durations are whole milliseconds in keys ending
// in _ms, timestamps are RFC 3339 strings in UTC with milliseconds (null
// when unknown), and within a schema's version keys are only ever added.

// Timestamp is a time written as RFC 3339 in UTC with milliseconds, e.g.
// "2026-10-01T12:00:00.123Z", or null when zero.
type Timestamp time.Time

// timestampLayout is RFC 3339 with exactly three fractional digits.
const timestampLayout = "2006-01-02T15:04:05.000Z07:00"

// MarshalJSON writes t as an RFC 3339 string, or null.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if time.Time(t).IsZero() {
		return []byte("null"), nil
	}
	return json.Marshal(time.Time(t).UTC().Format(timestampLayout))
}

// UnmarshalJSON reads an RFC 3339 string or null.
func (t *Timestamp) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		*t = Timestamp{}
		return nil
	}
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	parsed, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return err
	}
	*t = Timestamp(parsed)
	return nil
}

// millis is d in whole milliseconds, rounded.
func millis(d time.Duration) int64 { return d.Round(time.Millisecond).Milliseconds() }

// JSONEvent is a shipprod.event/v1 line: one step event.
type JSONEvent struct {
	Step       string        `json:"step"`
	Event      string        `json:"event"`
	Title      string        `json:"title"`
	Time       Timestamp     `json:"time"`
	DurationMS *int64        `json:"duration_ms"`
	Reason     string        `json:"reason"`
	Error      string        `json:"error"`
	Actions    []JSONAction  `json:"actions"`
	Progress   *JSONProgress `json:"progress"`
}

// JSONAction is a side effect a step makes.
type JSONAction struct {
	Step        string `json:"step"`
	Kind        string `json:"kind"`
	Target      string `json:"target"`
	Description string `json:"description"`
}

// JSONProgress is what a step tells while it runs.
type JSONProgress struct {
	Message     string `json:"message"`
	Status      string `json:"status"`
	ElapsedMS   *int64 `json:"elapsed_ms"`
	RemainingMS *int64 `json:"remaining_ms"`
}

// JSONResult is a shipprod.result/v1 line: how a run ended and everything
// it did.
type JSONResult struct {
	Outcome            string          `json:"outcome"`
	ExitCode           int             `json:"exit_code"`
	StartedAt          Timestamp       `json:"started_at"`
	FinishedAt         Timestamp       `json:"finished_at"`
	ResumedFrom        Timestamp       `json:"resumed_from"`
	Gates              JSONGates       `json:"gates"`
	Release            JSONRelease     `json:"release"`
	Deployment         *JSONDeployment `json:"deployment"`
	PreviousProduction *JSONDeployment `json:"previous_production"`
	Health             *JSONHealth     `json:"health"`
	Monitor            *JSONMonitor    `json:"monitor"`
	Rollout            *JSONRollout    `json:"rollout"`
	Rollback           *JSONRollback   `json:"rollback"`
	Unhealthy          string          `json:"unhealthy"`
	NotVerified        []string        `json:"not_verified"`
	Warnings           []string        `json:"warnings"`
	Reports            []string        `json:"reports"`
	Error              string          `json:"error"`
	Steps              []JSONStep      `json:"steps"`
}

// JSONRollout is how a staged rollout went, stage by stage.
type JSONRollout struct {
	Current   int            `json:"current"`
	Total     int            `json:"total"`
	Completed bool           `json:"completed"`
	Aborted   bool           `json:"aborted"`
	Stages    []JSONStageRun `json:"stages"`
}

// JSONStageRun is one stage of a rollout.
type JSONStageRun struct {
	Percent    int       `json:"percent"`
	WatchMS    int64     `json:"watch_ms"`
	StartedAt  Timestamp `json:"started_at"`
	FinishedAt Timestamp `json:"finished_at"`
	Verdict    string    `json:"verdict"`
	Reason     string    `json:"reason"`
}

func encodeRollout(r *shipprod.RolloutReport) *JSONRollout {
	if r == nil {
		return nil
	}
	out := &JSONRollout{Current: r.Current, Total: r.Total, Completed: r.Completed, Aborted: r.Aborted, Stages: make([]JSONStageRun, len(r.Stages))}
	for i, s := range r.Stages {
		out.Stages[i] = JSONStageRun{Percent: s.Stage.Percent, WatchMS: millis(s.Stage.Watch), StartedAt: Timestamp(s.StartedAt),
			FinishedAt: Timestamp(s.FinishedAt), Verdict: string(s.Verdict), Reason: s.Reason}
	}
	return out
}

// JSONGates is what the release gates found.
type JSONGates struct {
	Source string     `json:"source"`
	Notes  []string   `json:"notes"`
	Gates  []JSONGate `json:"gates"`
}

// JSONGate is one release gate.
type JSONGate struct {
	Name     string `json:"name"`
	Source   string `json:"source"`
	Key      string `json:"key"`
	Found    string `json:"found"`
	Required string `json:"required"`
	Passed   bool   `json:"passed"`
	Advisory bool   `json:"advisory"`
	Hint     string `json:"hint"`
}

// JSONRelease is the version being shipped.
type JSONRelease struct {
	Version         string       `json:"version"`
	PreviousVersion string       `json:"previous_version"`
	Tag             string       `json:"tag"`
	PreviousTag     string       `json:"previous_tag"`
	Bump            string       `json:"bump"`
	Reasons         []JSONReason `json:"reasons"`
	Notes           string       `json:"notes"`
	Files           []string     `json:"files"`
	Commit          string       `json:"commit"`
	PreviousCommit  string       `json:"previous_commit"`
	Branch          string       `json:"branch"`
	Remote          string       `json:"remote"`
	ReleaseURL      string       `json:"release_url"`
	Warnings        []string     `json:"warnings"`
}

// JSONReason is one piece of evidence behind a version decision.
type JSONReason struct {
	Source string `json:"source"`
	Text   string `json:"text"`
	Bump   string `json:"bump"`
}

// JSONDeployment is a deployment: where a release runs and how to undo it.
type JSONDeployment struct {
	Provider      string            `json:"provider"`
	ID            string            `json:"id"`
	URL           string            `json:"url"`
	Environment   string            `json:"environment"`
	Commit        string            `json:"commit"`
	Version       string            `json:"version"`
	Tag           string            `json:"tag"`
	StartedAt     Timestamp         `json:"started_at"`
	FinishedAt    Timestamp         `json:"finished_at"`
	PreviousID    string            `json:"previous_id"`
	RollbackSteps []string          `json:"rollback_steps"`
	Details       map[string]string `json:"details"`
}

// JSONHealth is a round of health checks.
type JSONHealth struct {
	CheckedAt  Timestamp   `json:"checked_at"`
	DurationMS int64       `json:"duration_ms"`
	Passed     bool        `json:"passed"`
	Checks     []JSONCheck `json:"checks"`
}

// JSONCheck is one health check.
type JSONCheck struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Target    string `json:"target"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempts"`
	LatencyMS int64  `json:"latency_ms"`
	Message   string `json:"message"`
	Error     string `json:"error"`
}

// JSONMonitor is the monitor's window after the deploy.
type JSONMonitor struct {
	StartedAt  Timestamp         `json:"started_at"`
	FinishedAt Timestamp         `json:"finished_at"`
	WindowMS   int64             `json:"window_ms"`
	Verdict    string            `json:"verdict"`
	Reason     string            `json:"reason"`
	Gates      []JSONMonitorGate `json:"gates"`
}

// JSONMonitorGate is one monitor gate over the window.
type JSONMonitorGate struct {
	Name         string `json:"name"`
	Verdict      string `json:"verdict"`
	Measurements int    `json:"measurements"`
	Failures     int    `json:"failures"`
	Errors       int    `json:"errors"`
	Inconclusive int    `json:"inconclusive"`
	Critical     bool   `json:"critical"`
	DryRun       bool   `json:"dry_run"`
	Message      string `json:"message"`
}

// JSONRollback is a rollback of production.
type JSONRollback struct {
	Reason     string         `json:"reason"`
	Target     JSONTarget     `json:"target"`
	StartedAt  Timestamp      `json:"started_at"`
	FinishedAt Timestamp      `json:"finished_at"`
	Restored   JSONDeployment `json:"restored"`
	Health     *JSONHealth    `json:"health"`
	Notes      []string       `json:"notes"`
	Error      string         `json:"error"`
}

// JSONTarget names a release: the one a rollback restores, the one
// production runs.
type JSONTarget struct {
	Version string `json:"version"`
	Tag     string `json:"tag"`
	Commit  string `json:"commit"`
}

// JSONStep is one step of a run.
type JSONStep struct {
	Step       string       `json:"step"`
	Title      string       `json:"title"`
	Status     string       `json:"status"`
	StartedAt  Timestamp    `json:"started_at"`
	DurationMS int64        `json:"duration_ms"`
	Reason     string       `json:"reason"`
	Warning    string       `json:"warning"`
	Error      string       `json:"error"`
	Resumed    bool         `json:"resumed"`
	Actions    []JSONAction `json:"actions"`
}

// JSONPlan is a shipprod.plan/v1 line: what ship would do.
type JSONPlan struct {
	Release  JSONRelease       `json:"release"`
	Gates    JSONGates         `json:"gates"`
	Steps    []JSONPlannedStep `json:"steps"`
	Note     string            `json:"note"`
	Warnings []string          `json:"warnings"`
}

// JSONPlannedStep is one step of a plan.
type JSONPlannedStep struct {
	Step      string       `json:"step"`
	Title     string       `json:"title"`
	Skipped   bool         `json:"skipped"`
	Reason    string       `json:"reason"`
	Condition string       `json:"condition"`
	Actions   []JSONAction `json:"actions"`
}

// JSONVersion is a shipprod.version/v1 line: the current and the next
// version, and why.
type JSONVersion struct {
	Current          string       `json:"current"`
	CurrentSource    string       `json:"current_source"`
	CurrentTag       string       `json:"current_tag"`
	CurrentCommit    string       `json:"current_commit"`
	Stable           string       `json:"stable"`
	Next             string       `json:"next"`
	Tag              string       `json:"tag"`
	Bump             string       `json:"bump"`
	Reasons          []JSONReason `json:"reasons"`
	NothingToRelease bool         `json:"nothing_to_release"`
	Why              string       `json:"why"`
	Commits          int          `json:"commits"`
	Files            []string     `json:"files"`
	Notes            string       `json:"notes"`
	Head             string       `json:"head"`
	Branch           string       `json:"branch"`
	Warnings         []string     `json:"warnings"`
}

// JSONDemo is a shipprod.demo/v1 line: where the demo's project and
// production are. The demo's events and result follow it.
type JSONDemo struct {
	Project    string `json:"project"`
	Remote     string `json:"remote"`
	Production string `json:"production"`
	Kept       bool   `json:"kept"`
}

// JSONError is a shipprod.error/v1 line, the last line of a command that
// exits with a code other than 0.
type JSONError struct {
	Message  string `json:"message"`
	ExitCode int    `json:"exit_code"`
}

// list returns s, or an empty list for nil: lists are [] in JSON, never null.
func list[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func encodeEvent(e shipprod.Event) JSONEvent {
	out := JSONEvent{Step: string(e.Step), Event: string(e.Kind), Title: e.Title, Time: Timestamp(e.Time),
		Reason: e.Reason, Actions: encodeActions(e.Actions)}
	if e.Kind == shipprod.EventFinished || e.Kind == shipprod.EventFailed {
		d := millis(e.Duration)
		out.DurationMS = &d
	}
	if e.Err != nil {
		out.Error = e.Err.Error()
	}
	if p := e.Progress; p != nil {
		out.Progress = &JSONProgress{Message: p.Message, Status: string(p.Status)}
		if timed(*p) {
			elapsed, remaining := millis(p.Elapsed), millis(p.Remaining)
			out.Progress.ElapsedMS, out.Progress.RemainingMS = &elapsed, &remaining
		}
	}
	return out
}

// timed says whether p is a measurement of a timed wait (the monitor's
// window), as opposed to a result such as a health check's.
func timed(p shipprod.Progress) bool { return p.Elapsed > 0 || p.Remaining > 0 }

func encodeActions(as []shipprod.Action) []JSONAction {
	out := make([]JSONAction, len(as))
	for i, a := range as {
		out[i] = JSONAction{Step: string(a.Step), Kind: string(a.Kind), Target: a.Target, Description: a.Description}
	}
	return out
}

func encodeResult(res *shipprod.Result, exitCode int) JSONResult {
	out := JSONResult{
		Outcome: string(res.Outcome), ExitCode: exitCode,
		StartedAt: Timestamp(res.StartedAt), FinishedAt: Timestamp(res.FinishedAt), ResumedFrom: Timestamp(res.ResumedFrom),
		Gates: encodeGates(res.Gates), Release: encodeRelease(res.Release),
		Deployment: encodeDeploymentPtr(res.Deployment), PreviousProduction: encodeDeploymentPtr(res.PreviousProduction),
		Health: encodeHealth(res.Health), Rollout: encodeRollout(res.Rollout), Rollback: encodeRollbackReport(res.Rollback), Unhealthy: res.Unhealthy,
		NotVerified: list(res.NotVerified), Warnings: list(res.Warnings), Reports: list(res.Reports),
		Error: res.Error, Steps: make([]JSONStep, len(res.Steps)),
	}
	if m := res.Monitor; m != nil {
		out.Monitor = &JSONMonitor{StartedAt: Timestamp(m.StartedAt), FinishedAt: Timestamp(m.FinishedAt),
			WindowMS: millis(m.Window), Verdict: string(m.Verdict), Reason: m.Reason, Gates: make([]JSONMonitorGate, len(m.Gates))}
		for i, g := range m.Gates {
			out.Monitor.Gates[i] = JSONMonitorGate{Name: g.Name, Verdict: string(g.Verdict), Measurements: g.Measurements,
				Failures: g.Failures, Errors: g.Errors, Inconclusive: g.Inconclusive, Critical: g.Critical, DryRun: g.DryRun, Message: g.Message}
		}
	}
	for i, s := range res.Steps {
		out.Steps[i] = JSONStep{Step: string(s.Step), Title: s.Title, Status: string(s.Status), StartedAt: Timestamp(s.StartedAt),
			DurationMS: millis(s.Duration), Reason: s.Reason, Warning: s.Warning, Error: s.Error, Resumed: s.Resumed, Actions: encodeActions(s.Actions)}
	}
	return out
}

func encodeGates(g shipprod.GateReport) JSONGates {
	out := JSONGates{Source: g.Source, Notes: list(g.Notes), Gates: make([]JSONGate, len(g.Gates))}
	for i, r := range g.Gates {
		out.Gates[i] = JSONGate{Name: r.Name, Source: r.Source, Key: r.Key, Found: r.Found, Required: r.Required,
			Passed: r.Passed, Advisory: r.Advisory, Hint: r.Hint}
	}
	return out
}

func encodeRelease(r shipprod.Release) JSONRelease {
	return JSONRelease{Version: r.Version, PreviousVersion: r.PreviousVersion, Tag: r.Tag, PreviousTag: r.PreviousTag,
		Bump: string(r.Bump), Reasons: encodeReasons(r.Reasons), Notes: r.Notes, Files: list(r.Files), Commit: r.Commit,
		PreviousCommit: r.PreviousCommit, Branch: r.Branch, Remote: r.Remote, ReleaseURL: r.ReleaseURL, Warnings: list(r.Warnings)}
}

func encodeReasons(rs []shipprod.Reason) []JSONReason {
	out := make([]JSONReason, len(rs))
	for i, r := range rs {
		out[i] = JSONReason{Source: r.Source, Text: r.Text, Bump: string(r.Bump)}
	}
	return out
}

func encodeDeployment(d shipprod.Deployment) JSONDeployment {
	details := d.Details
	if details == nil {
		details = map[string]string{}
	}
	return JSONDeployment{Provider: d.Provider, ID: d.ID, URL: d.URL, Environment: d.Environment, Commit: d.Commit,
		Version: d.Version, Tag: d.Tag, StartedAt: Timestamp(d.StartedAt), FinishedAt: Timestamp(d.FinishedAt),
		PreviousID: d.PreviousID, RollbackSteps: list(d.RollbackSteps), Details: details}
}

func encodeDeploymentPtr(d *shipprod.Deployment) *JSONDeployment {
	if d == nil {
		return nil
	}
	out := encodeDeployment(*d)
	return &out
}

func encodeHealth(h *shipprod.HealthReport) *JSONHealth {
	if h == nil {
		return nil
	}
	out := &JSONHealth{CheckedAt: Timestamp(h.CheckedAt), DurationMS: millis(h.Duration), Passed: h.OK(), Checks: make([]JSONCheck, len(h.Checks))}
	for i, c := range h.Checks {
		out.Checks[i] = JSONCheck{Name: c.Name, Kind: c.Kind, Target: c.Target, Status: string(c.Status), Attempts: c.Attempts,
			LatencyMS: millis(c.Latency), Message: c.Message, Error: c.Error}
	}
	return out
}

func encodeRollbackReport(r *shipprod.RollbackReport) *JSONRollback {
	if r == nil {
		return nil
	}
	return &JSONRollback{Reason: r.Reason, Target: encodeTarget(r.Target),
		StartedAt: Timestamp(r.StartedAt), FinishedAt: Timestamp(r.FinishedAt), Restored: encodeDeployment(r.Restored),
		Health: encodeHealth(r.Health), Notes: list(r.Notes), Error: r.Error}
}

func encodeTarget(r shipprod.Release) JSONTarget {
	return JSONTarget{Version: r.Version, Tag: r.Tag, Commit: r.Commit}
}

func encodePlan(p *shipprod.Plan) JSONPlan {
	out := JSONPlan{Release: encodeRelease(p.Release), Gates: encodeGates(p.Gates), Steps: make([]JSONPlannedStep, len(p.Steps)),
		Note: p.Note, Warnings: list(p.Warnings)}
	for i, s := range p.Steps {
		out.Steps[i] = JSONPlannedStep{Step: string(s.Step), Title: s.Title, Skipped: s.Skipped, Reason: s.Reason,
			Condition: s.Condition, Actions: encodeActions(s.Actions)}
	}
	return out
}

func encodeVersion(d version.Decision) JSONVersion {
	return JSONVersion{Current: d.Current, CurrentSource: d.CurrentSource, CurrentTag: d.CurrentTag, CurrentCommit: d.CurrentCommit,
		Stable: d.Stable, Next: d.Next, Tag: d.Tag, Bump: string(d.Bump), Reasons: encodeReasons(d.Reasons),
		NothingToRelease: d.NothingToRelease, Why: d.Why, Commits: d.Commits, Files: list(d.Files), Notes: d.Notes,
		Head: d.Head, Branch: d.Branch, Warnings: list(d.Warnings)}
}
