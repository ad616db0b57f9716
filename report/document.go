package report

import (
	"cmp"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/shipprod/shipprod"
	"github.com/shipprod/shipprod/internal/git"
)

// Schema identifies the JSON twin's format.
const Schema = "shipprod.ship-report/v1"

// Document holds the facts of a ship report. It is the JSON twin as is, and
// the Markdown report is rendered from it.
type Document struct {
	Schema          string   `json:"schema"`
	Feature         string   `json:"feature,omitempty"`
	Outcome         string   `json:"outcome"`
	Version         string   `json:"version,omitempty"`
	Tag             string   `json:"tag,omitempty"`
	PreviousVersion string   `json:"previous_version,omitempty"`
	PreviousTag     string   `json:"previous_tag,omitempty"`
	Bump            string   `json:"bump,omitempty"`
	Reasons         []Reason `json:"reasons,omitempty"`
	Commit          string   `json:"commit,omitempty"`
	Branch          string   `json:"branch,omitempty"`
	Remote          string   `json:"remote,omitempty"`
	ReleaseURL      string   `json:"release_url,omitempty"`
	ProductionURL   string   `json:"production_url,omitempty"`
	DeployedAt      string   `json:"deployed_at,omitempty"`
	Deployment      *Deploy  `json:"deployment,omitempty"`
	Changes         string   `json:"changes,omitempty"`
	Gates           []Gate   `json:"gates,omitempty"`
	GateSource      string   `json:"gate_source,omitempty"`
	// PreviousProduction is what production ran before the deploy: the
	// target of a rollback.
	PreviousProduction *Deploy `json:"previous_production,omitempty"`
	Health             *Health `json:"health,omitempty"`
	// HealthStatus says what happened to the health checks: passed,
	// failed, not configured, or skipped and why.
	HealthStatus string       `json:"health_status"`
	MonitorPlan  *MonitorPlan `json:"monitor_plan,omitempty"`
	Monitor      *Monitor     `json:"monitor,omitempty"`
	// MonitorStatus says what happened to the monitor: finished with its
	// verdict, not configured, skipped and why, or still to come.
	MonitorStatus string `json:"monitor_status"`
	// NotVerified says why a live release is not verified.
	NotVerified []string `json:"not_verified,omitempty"`
	// Rollout is how a staged rollout went, stage by stage.
	Rollout  *Rollout  `json:"rollout,omitempty"`
	Rollback *Rollback `json:"rollback,omitempty"`
	// RollbackSteps are what is left to do by hand to roll back (after an
	// automatic rollback: what is left to the user).
	RollbackSteps []string `json:"rollback_procedure"`
	Steps         []Step   `json:"steps"`
	Warnings      []string `json:"warnings,omitempty"`
	Error         string   `json:"error,omitempty"`
	StartedAt     string   `json:"started_at"`
	FinishedAt    string   `json:"finished_at,omitempty"`
	Files         []string `json:"files,omitempty"`
	Reports       []string `json:"-"`
}

// Reason is one piece of evidence behind the version bump.
type Reason struct {
	Source string `json:"source"`
	Text   string `json:"text"`
	Bump   string `json:"bump"`
}

// Deploy is the deployment.
type Deploy struct {
	Provider    string            `json:"provider"`
	ID          string            `json:"id"`
	URL         string            `json:"url,omitempty"`
	Environment string            `json:"environment,omitempty"`
	Commit      string            `json:"commit,omitempty"`
	Version     string            `json:"version,omitempty"`
	Tag         string            `json:"tag,omitempty"`
	PreviousID  string            `json:"previous_id,omitempty"`
	StartedAt   string            `json:"started_at,omitempty"`
	FinishedAt  string            `json:"finished_at,omitempty"`
	DurationMS  int64             `json:"duration_ms"`
	Details     map[string]string `json:"details,omitempty"`
}

// Gate is one release gate.
type Gate struct {
	Name     string `json:"name"`
	Source   string `json:"source"`
	Key      string `json:"key,omitempty"`
	Found    string `json:"found"`
	Required string `json:"required"`
	Passed   bool   `json:"passed"`
	Advisory bool   `json:"advisory,omitempty"`
	Hint     string `json:"hint,omitempty"`
}

// Health is a round of health checks.
type Health struct {
	Passed    bool    `json:"passed"`
	CheckedAt string  `json:"checked_at"`
	Checks    []Check `json:"checks"`
}

// Check is one health check.
type Check struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Target    string `json:"target,omitempty"`
	Status    string `json:"status"`
	Attempts  int    `json:"attempts"`
	LatencyMS int64  `json:"latency_ms"`
	Message   string `json:"message,omitempty"`
	Error     string `json:"error,omitempty"`
}

// Monitor is the monitor window.
type Monitor struct {
	Verdict       string        `json:"verdict"`
	Reason        string        `json:"reason,omitempty"`
	WindowSeconds int64         `json:"window_seconds"`
	StartedAt     string        `json:"started_at"`
	FinishedAt    string        `json:"finished_at"`
	Gates         []MonitorGate `json:"gates"`
}

// MonitorGate is one monitor gate.
type MonitorGate struct {
	Name         string `json:"name"`
	Verdict      string `json:"verdict"`
	Measurements int    `json:"measurements"`
	Failures     int    `json:"failures"`
	Errors       int    `json:"errors"`
	Inconclusive int    `json:"inconclusive"`
	Critical     bool   `json:"critical,omitempty"`
	DryRun       bool   `json:"dry_run,omitempty"`
	Message      string `json:"message,omitempty"`
}

// Rollout is a staged rollout.
type Rollout struct {
	Stages    []RolloutStage `json:"stages"`
	Current   int            `json:"current"`
	Total     int            `json:"total"`
	Completed bool           `json:"completed"`
	Aborted   bool           `json:"aborted"`
}

// RolloutStage is one stage of a rollout.
type RolloutStage struct {
	Percent      int    `json:"percent"`
	WatchSeconds int64  `json:"watch_seconds"`
	StartedAt    string `json:"started_at"`
	FinishedAt   string `json:"finished_at,omitempty"`
	Verdict      string `json:"verdict,omitempty"`
	Reason       string `json:"reason,omitempty"`
}

// MonitorPlan is what the monitor watches.
type MonitorPlan struct {
	WindowSeconds       int64             `json:"window_seconds"`
	IntervalSeconds     int64             `json:"interval_seconds"`
	InitialDelaySeconds int64             `json:"initial_delay_seconds,omitempty"`
	DashboardURL        string            `json:"dashboard_url,omitempty"`
	Gates               []MonitorGatePlan `json:"gates"`
}

// MonitorGatePlan is one gate of the monitor's plan.
type MonitorGatePlan struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	Query     string `json:"query,omitempty"`
	Condition string `json:"condition"`
	Critical  bool   `json:"critical,omitempty"`
	DryRun    bool   `json:"dry_run,omitempty"`
}

// Rollback is a rollback: automatic (production was found unhealthy), or
// asked for by hand.
type Rollback struct {
	// Manual is set for a rollback asked for by hand (shipprod rollback).
	Manual bool   `json:"manual,omitempty"`
	Reason string `json:"reason"`
	// Target is the release restored: what production ran before.
	Target     string   `json:"target,omitempty"`
	Restored   *Deploy  `json:"restored,omitempty"`
	Health     *Health  `json:"health,omitempty"`
	Notes      []string `json:"notes,omitempty"`
	Warnings   []string `json:"warnings,omitempty"`
	Error      string   `json:"error,omitempty"`
	StartedAt  string   `json:"started_at"`
	FinishedAt string   `json:"finished_at"`
}

// Step is one pipeline step.
type Step struct {
	Step       string `json:"step"`
	Title      string `json:"title,omitempty"`
	Status     string `json:"status"`
	DurationMS int64  `json:"duration_ms"`
	Reason     string `json:"reason,omitempty"`
	Warning    string `json:"warning,omitempty"`
	Error      string `json:"error,omitempty"`
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.RFC3339)
}

// Build collects the facts of res. feature names what was shipped.
func Build(res shipprod.Result, feature string) *Document {
	rel := res.Release
	d := &Document{
		Schema:          Schema,
		Feature:         feature,
		Outcome:         cmp.Or(string(res.Outcome), "in progress"),
		Version:         rel.Version,
		Tag:             rel.Tag,
		PreviousVersion: rel.PreviousVersion,
		PreviousTag:     rel.PreviousTag,
		Bump:            string(rel.Bump),
		Commit:          rel.Commit,
		Branch:          rel.Branch,
		Remote:          git.MaskURL(rel.Remote),
		ReleaseURL:      rel.ReleaseURL,
		Changes:         strings.TrimSpace(rel.Notes),
		GateSource:      res.Gates.Source,
		Warnings:        res.Warnings,
		Error:           res.Error,
		StartedAt:       stamp(res.StartedAt),
		FinishedAt:      stamp(res.FinishedAt),
		Files:           rel.Files,
		RollbackSteps:   []string{},
		Steps:           []Step{},
		Reports:         res.Reports,
	}
	for _, r := range rel.Reasons {
		d.Reasons = append(d.Reasons, Reason{Source: r.Source, Text: r.Text, Bump: string(r.Bump)})
	}
	for _, g := range res.Gates.Gates {
		d.Gates = append(d.Gates, Gate(g))
	}
	if dep := res.Deployment; dep != nil {
		d.Deployment = deploy(*dep)
		d.ProductionURL = git.MaskURL(dep.URL)
		d.DeployedAt = stamp(dep.FinishedAt)
		if !restored(res) {
			d.RollbackSteps = append(d.RollbackSteps, dep.RollbackSteps...)
		}
	}
	if pp := res.PreviousProduction; pp != nil {
		d.PreviousProduction = deploy(*pp)
	}
	if res.Health != nil {
		d.Health = health(*res.Health)
	}
	d.HealthStatus = stepStatus(res, shipprod.StepHealth, d.Health)
	d.MonitorPlan = monitorPlan(res.MonitorPlan)
	d.Monitor, d.MonitorStatus = monitor(res)
	d.NotVerified = res.NotVerified
	d.Rollout = rollout(res.Rollout)
	if rb := res.Rollback; rb != nil {
		d.Rollback = rollback(*rb)
	}
	if step := tagDeletionStep(rel, d.Remote); step != "" {
		d.RollbackSteps = append(d.RollbackSteps, step)
	}
	for _, s := range res.Steps {
		d.Steps = append(d.Steps, Step{Step: string(s.Step), Title: s.Title, Status: string(s.Status), DurationMS: s.Duration.Milliseconds(),
			Reason: s.Reason, Warning: s.Warning, Error: s.Error})
	}
	return d
}

// restored reports whether an automatic rollback put production back.
func restored(res shipprod.Result) bool {
	return res.Rollback != nil && res.Rollback.Restored.ID != "" && res.Rollback.Error == ""
}

// stepStatus says what happened to a checking step: passed or failed when
// it ran, not configured, skipped and why, or still to come.
func stepStatus(res shipprod.Result, name shipprod.StepName, h *Health) string {
	s, ok := res.Step(name)
	passed := h != nil && h.Passed
	switch {
	case !ok && h != nil && passed:
		return "passed"
	case !ok && h != nil:
		return "failed"
	case !ok:
		return "pending"
	case s.Status == shipprod.StepSkipped && strings.HasPrefix(s.Reason, "no ") && strings.HasSuffix(s.Reason, " configured"):
		return "not configured"
	case s.Status == shipprod.StepSkipped:
		return "skipped: " + s.Reason
	case s.Status == shipprod.StepDone && passed:
		return "passed"
	case s.Status == shipprod.StepRunning:
		return "running"
	}
	return "failed"
}

func rollout(r *shipprod.RolloutReport) *Rollout {
	if r == nil {
		return nil
	}
	out := &Rollout{Current: r.Current, Total: max(r.Total, len(r.Stages)), Completed: r.Completed, Aborted: r.Aborted, Stages: []RolloutStage{}}
	for _, s := range r.Stages {
		out.Stages = append(out.Stages, RolloutStage{Percent: s.Stage.Percent, WatchSeconds: int64(s.Stage.Watch / time.Second),
			StartedAt: stamp(s.StartedAt), FinishedAt: stamp(s.FinishedAt), Verdict: string(s.Verdict), Reason: s.Reason})
	}
	return out
}

func monitorPlan(p *shipprod.MonitorPlan) *MonitorPlan {
	if p == nil {
		return nil
	}
	out := &MonitorPlan{WindowSeconds: int64(p.Window / time.Second), IntervalSeconds: int64(p.Interval / time.Second),
		InitialDelaySeconds: int64(p.InitialDelay / time.Second), DashboardURL: git.MaskURL(p.DashboardURL)}
	for _, g := range p.Gates {
		out.Gates = append(out.Gates, MonitorGatePlan(g))
	}
	return out
}

// monitor is the monitor window of res, if it ran, and a status line that
// says how it ended, why it did not run, or that it is still to come.
func monitor(res shipprod.Result) (*Monitor, string) {
	if m := res.Monitor; m != nil {
		out := &Monitor{Verdict: string(m.Verdict), Reason: m.Reason, WindowSeconds: int64(m.Window / time.Second),
			StartedAt: stamp(m.StartedAt), FinishedAt: stamp(m.FinishedAt)}
		for _, g := range m.Gates {
			out.Gates = append(out.Gates, MonitorGate{Name: g.Name, Verdict: string(g.Verdict), Measurements: g.Measurements,
				Failures: g.Failures, Errors: g.Errors, Inconclusive: g.Inconclusive, Critical: g.Critical, DryRun: g.DryRun, Message: g.Message})
		}
		return out, "finished: " + string(m.Verdict)
	}
	s, ok := res.Step(shipprod.StepMonitor)
	switch {
	case ok && s.Status == shipprod.StepSkipped && s.Reason == "no Monitor configured":
		return nil, "not configured: production is not watched after the deploy"
	case ok && s.Status == shipprod.StepSkipped:
		return nil, "not run: " + s.Reason
	case ok:
		return nil, string(s.Status) + ": " + s.Error
	case res.MonitorPlan == nil:
		return nil, "not configured: production is not watched after the deploy"
	}
	return nil, "pending: the monitor starts after this report is written, and the report is updated when its window ends"
}

func rollback(rb shipprod.RollbackReport) *Rollback {
	t := rb.Target
	out := &Rollback{Manual: rb.Manual, Reason: rb.Reason, Target: cmp.Or(t.Tag, t.Version, t.Commit), Notes: rb.Notes, Warnings: rb.Warnings,
		Error: rb.Error, StartedAt: stamp(rb.StartedAt), FinishedAt: stamp(rb.FinishedAt)}
	if rb.Restored.ID != "" {
		out.Restored = deploy(rb.Restored)
	}
	if rb.Health != nil {
		out.Health = health(*rb.Health)
	}
	return out
}

// tagDeletionStep is the optional last rollback step, deleting the
// release's tag, for a release that was tagged ("" otherwise). remote is
// the masked remote.
func tagDeletionStep(rel shipprod.Release, remote string) string {
	if rel.Tag == "" || rel.Commit == "" {
		return ""
	}
	remote = cmp.Or(remote, "origin")
	if strings.Contains(remote, "***") {
		remote = "<remote>" // its credentials are masked: name your own remote
	}
	return fmt.Sprintf("Optional, only if %s must never be deployed again (tags are kept by default so that the history stays true): git tag -d %s && git push %s :refs/tags/%s", rel.Tag, rel.Tag, remote, rel.Tag)
}

func deploy(dep shipprod.Deployment) *Deploy {
	details := map[string]string{}
	for k, v := range dep.Details {
		details[k] = git.MaskURL(v)
	}
	if len(details) == 0 {
		details = nil
	}
	var dur int64
	if !dep.StartedAt.IsZero() && !dep.FinishedAt.IsZero() {
		dur = dep.FinishedAt.Sub(dep.StartedAt).Milliseconds()
	}
	return &Deploy{Provider: dep.Provider, ID: dep.ID, URL: git.MaskURL(dep.URL), Environment: dep.Environment, Commit: dep.Commit, Version: dep.Version, Tag: dep.Tag,
		PreviousID: dep.PreviousID, StartedAt: stamp(dep.StartedAt), FinishedAt: stamp(dep.FinishedAt), DurationMS: dur, Details: details}
}

func health(h shipprod.HealthReport) *Health {
	out := &Health{Passed: h.OK(), CheckedAt: stamp(h.CheckedAt), Checks: []Check{}}
	for _, c := range h.Checks {
		out.Checks = append(out.Checks, Check{Name: c.Name, Kind: c.Kind, Target: git.MaskURL(c.Target), Status: string(c.Status),
			Attempts: c.Attempts, LatencyMS: c.Latency.Milliseconds(), Message: c.Message, Error: c.Error})
	}
	return out
}

var outcomeLine = map[string]string{
	string(shipprod.OutcomeShipped):          "✅ Deployed to Production and verified",
	string(shipprod.OutcomeNotVerified):      "⚠️ Deployed to Production, not verified",
	string(shipprod.OutcomeReleased):         "🏷️ Released (tagged and published), not deployed",
	string(shipprod.OutcomeRolledBack):       "↩️ Rolled back: production was unhealthy after the deploy and now runs the release it ran before",
	string(shipprod.OutcomeUnhealthy):        "❌ Deployed but unhealthy",
	string(shipprod.OutcomeFailed):           "❌ Failed",
	string(shipprod.OutcomeInterrupted):      "⏸️ Interrupted: the next run resumes it",
	string(shipprod.OutcomeBlocked):          "⛔ Blocked by release gates",
	string(shipprod.OutcomeNothingToRelease): "➖ Nothing to release",
}

// markdown accumulates the Markdown report.
type markdown struct{ strings.Builder }

// p appends a formatted line (or part of one).
func (md *markdown) p(format string, args ...any) { fmt.Fprintf(&md.Builder, format, args...) }

// Markdown renders the report.
func (d *Document) Markdown() string {
	var md markdown
	for _, section := range []func(*markdown){
		d.writeTitle, d.writeSummary, d.writeDeploymentSummary, d.writeChanges, d.writeGates,
		d.writeHealth, d.writeRollout, d.writeMonitoring, d.writeRollback, d.writeArtifacts, d.writeRollbackProcedure,
		d.writeSteps, d.writeWarnings, d.writeFooter,
	} {
		section(&md)
	}
	return md.String()
}

// writeTitle writes the title (the feature, or else the tag) and status.
func (d *Document) writeTitle(md *markdown) {
	md.p("# Production Ship Report: %s\n\n", cmp.Or(d.Feature, d.Tag))
	status := cmp.Or(outcomeLine[d.Outcome], d.Outcome)
	if d.manualRollback() {
		status = "↩️ Rolled back by hand: production runs an earlier release again"
	}
	md.p("**Status**: %s\n\n", status)
}

// writeSummary says in a sentence what happened to which release.
func (d *Document) writeSummary(md *markdown) {
	md.p("## Summary\n\n")
	if d.Version != "" {
		md.p("%s\n\n", d.summary())
	}
	for _, r := range d.NotVerified {
		md.p("Not verified: %s\n\n", oneLine(r))
	}
	md.p("Production URL: %s\n\n", cmp.Or(d.ProductionURL, "not captured"))
	if d.Error != "" {
		md.p("Error: %s\n\n", oneLine(d.Error))
	}
}

// summary is the sentence saying what happened.
func (d *Document) summary() string {
	from := ""
	if d.PreviousTag != "" {
		from = " from " + d.PreviousTag
	}
	via := ""
	if d.Deployment != nil {
		via = " with " + d.Deployment.Provider
	}
	what := fmt.Sprintf("%s (%s bump%s)", d.Tag, cmp.Or(d.Bump, "unspecified"), from)
	switch shipprod.Outcome(d.Outcome) {
	case shipprod.OutcomeShipped:
		return fmt.Sprintf("Shipped %s to production%s; %s verified it.", what, via, d.verifiers())
	case shipprod.OutcomeNotVerified:
		return fmt.Sprintf("Shipped %s to production%s, but nothing verified it (see below).", what, via)
	case shipprod.OutcomeReleased:
		return fmt.Sprintf("Released %s: tagged and published; nothing was deployed.", what)
	case shipprod.OutcomeRolledBack:
		if d.manualRollback() {
			return fmt.Sprintf("Deployed %s%s; production was then rolled back by hand to %s.", what, via, d.rollbackTarget())
		}
		return fmt.Sprintf("Deployed %s%s, found it unhealthy and rolled production back to %s.", what, via, d.rollbackTarget())
	case shipprod.OutcomeUnhealthy:
		if d.Rollback != nil && d.Rollback.Error != "" {
			return fmt.Sprintf("Deployed %s%s and found it unhealthy; the automatic rollback to %s failed (%s), so production may still run %s: roll back by hand (below).",
				what, via, d.rollbackTarget(), oneLine(d.Rollback.Error), d.Tag)
		}
		return fmt.Sprintf("Deployed %s%s; production is unhealthy and was left as it is: roll back by hand (below) or fix forward.", what, via)
	case shipprod.OutcomeFailed:
		return fmt.Sprintf("Shipping %s failed; see the error below and the steps table.", what)
	case shipprod.OutcomeInterrupted:
		return fmt.Sprintf("Shipping %s was interrupted; run shipprod ship again to resume it where it stopped.", what)
	}
	return fmt.Sprintf("Shipping %s%s: in progress.", what, via)
}

// verifiers names what verified the release.
func (d *Document) verifiers() string {
	var v []string
	if d.Health != nil && d.Health.Passed {
		v = append(v, fmt.Sprintf("%d health checks", len(d.Health.Checks)))
	}
	if d.Monitor != nil && d.Monitor.Verdict == string(shipprod.VerdictPassed) {
		v = append(v, fmt.Sprintf("a %s monitor window", time.Duration(d.Monitor.WindowSeconds)*time.Second))
	}
	if len(v) == 0 {
		return "nothing recorded here"
	}
	return strings.Join(v, " and ")
}

// manualRollback reports whether the run is a rollback asked for by hand.
func (d *Document) manualRollback() bool {
	return d.Outcome == string(shipprod.OutcomeRolledBack) && d.Rollback != nil && d.Rollback.Manual
}

// rollbackTarget names what a rollback restores.
func (d *Document) rollbackTarget() string {
	if d.Rollback != nil && d.Rollback.Target != "" {
		return d.Rollback.Target
	}
	if pp := d.PreviousProduction; pp != nil {
		return cmp.Or(pp.Tag, pp.Version, pp.Commit, pp.ID)
	}
	return cmp.Or(d.PreviousTag, "the previous release")
}

func (d *Document) writeDeploymentSummary(md *markdown) {
	md.p("## Deployment Summary\n\n")
	md.p("- **Version**: %s\n", cmp.Or(d.Tag, "none"))
	if d.PreviousTag != "" {
		md.p("- **Previous version**: %s\n", d.PreviousTag)
	}
	md.p("- **Deployed at**: %s\n", cmp.Or(d.DeployedAt, "not deployed"))
	id := "none"
	if d.Deployment != nil {
		id = d.Deployment.ID
	}
	md.p("- **Deployment ID**: %s\n", id)
	if pp := d.PreviousProduction; pp != nil {
		md.p("- **Production before this deploy**: %s (deployment %s)\n", cmp.Or(pp.Tag, pp.Version, pp.Commit, "unknown release"), cmp.Or(pp.ID, "unknown"))
	}
	md.p("- **Production URL**: %s\n", cmp.Or(d.ProductionURL, "not captured"))
	md.p("- **Release URL**: %s\n\n", cmp.Or(d.ReleaseURL, "not published"))
}

// writeChanges writes the release notes and the evidence for the bump.
func (d *Document) writeChanges(md *markdown) {
	md.p("## Changes\n\n")
	md.p("%s\n\n", cmp.Or(d.Changes, "No CHANGELOG entries."))
	if len(d.Reasons) > 0 {
		md.p("Why %s:\n\n", cmp.Or(d.Bump, "this version"))
		for _, r := range d.Reasons {
			md.p("- %s: %s (%s)\n", r.Source, oneLine(r.Text), r.Bump)
		}
		md.p("\n")
	}
}

func (d *Document) writeGates(md *markdown) {
	md.p("## Release Gates\n\n")
	if len(d.Gates) == 0 {
		md.p("No gates were checked.\n\n")
		return
	}
	for _, g := range d.Gates {
		if g.Passed {
			md.p("- ✅ %s: `%s` is %q (%s)\n", g.Name, g.Key, g.Found, g.Source)
		} else {
			md.p("- ❌ %s\n", shipprod.DescribeGate(shipprod.GateResult(g)))
		}
	}
	md.p("\n")
}

func (d *Document) writeHealth(md *markdown) {
	md.p("## Health Checks\n\n")
	md.p("**Status**: %s\n\n", d.HealthStatus)
	if d.HealthStatus == "not configured" {
		md.p("Nothing checked production right after the deploy: configure health checks (health.checks).\n\n")
	}
	if d.Health != nil {
		md.checks(d.Health)
	}
}

// writeMonitoring writes the monitor window's verdict and gates, or its
// status when it did not run (yet).
func (d *Document) writeMonitoring(md *markdown) {
	md.p("## Monitoring\n\n")
	d.writeMonitorPlan(md)
	m := d.Monitor
	if m == nil {
		md.p("%s\n\n", upperFirst(d.MonitorStatus))
		return
	}
	md.p("- **Verdict**: %s%s\n", verdictMark(m.Verdict), m.Verdict)
	md.p("- **Window**: %s (%s to %s)\n", time.Duration(m.WindowSeconds)*time.Second, m.StartedAt, m.FinishedAt)
	if m.Reason != "" {
		md.p("- **Reason**: %s\n", m.Reason)
	}
	for _, g := range m.Gates {
		extra := ""
		if g.DryRun {
			extra = " (dry run)"
		}
		md.p("- %s%s%s: %d measurements, %d failed, %d errors, %d inconclusive", verdictMark(g.Verdict), g.Name, extra, g.Measurements, g.Failures, g.Errors, g.Inconclusive)
		if g.Message != "" {
			md.p(": %s", g.Message)
		}
		md.p("\n")
	}
	md.p("\n")
}

// writeRollout writes a staged rollout, stage by stage.
func (d *Document) writeRollout(md *markdown) {
	r := d.Rollout
	if r == nil {
		return
	}
	md.p("## Rollout\n\n")
	switch {
	case r.Completed:
		md.p("**Status**: completed: the release serves all traffic\n\n")
	case r.Aborted:
		md.p("**Status**: aborted at stage %d of %d: all traffic went back to the previous release\n\n", r.Current+1, r.Total)
	default:
		md.p("**Status**: in progress at stage %d of %d\n\n", r.Current+1, r.Total)
	}
	for i, s := range r.Stages {
		watch := ""
		if s.WatchSeconds > 0 {
			watch = fmt.Sprintf(", watched %s", time.Duration(s.WatchSeconds)*time.Second)
		}
		md.p("%d. %d%% of traffic%s: %s%s", i+1, s.Percent, watch, verdictMark(s.Verdict), cmp.Or(s.Verdict, "in progress"))
		if s.Reason != "" {
			md.p(" — %s", oneLine(s.Reason))
		}
		md.p("\n")
	}
	md.p("\n")
}

// writeMonitorPlan states what the monitor watches, before its verdict.
func (d *Document) writeMonitorPlan(md *markdown) {
	p := d.MonitorPlan
	if p == nil {
		return
	}
	md.p("Plan: watch production for %s, measuring every %s", time.Duration(p.WindowSeconds)*time.Second, time.Duration(p.IntervalSeconds)*time.Second)
	if p.InitialDelaySeconds > 0 {
		md.p(" after %s", time.Duration(p.InitialDelaySeconds)*time.Second)
	}
	md.p(", against these gates:\n\n")
	for _, g := range p.Gates {
		var tags []string
		if g.Critical {
			tags = append(tags, "critical")
		}
		if g.DryRun {
			tags = append(tags, "dry run")
		}
		tag := ""
		if len(tags) > 0 {
			tag = " [" + strings.Join(tags, ", ") + "]"
		}
		md.p("- %s (%s): %s%s", g.Name, g.Kind, g.Condition, tag)
		if g.Query != "" {
			md.p(" — `%s`", g.Query)
		}
		md.p("\n")
	}
	if p.DashboardURL != "" {
		md.p("\nDashboard: %s\n", p.DashboardURL)
	}
	md.p("\n")
}

// writeRollback writes the rollback, automatic or asked for by hand, when
// there was one.
func (d *Document) writeRollback(md *markdown) {
	rb := d.Rollback
	if rb == nil {
		return
	}
	if rb.Manual {
		md.p("## Manual Rollback\n\n")
	} else {
		md.p("## Automatic Rollback\n\n")
	}
	md.p("- **Why**: %s\n", oneLine(rb.Reason))
	if rb.Target != "" {
		if rb.Manual {
			md.p("- **Target**: %s\n", rb.Target)
		} else {
			md.p("- **Target**: %s (what production ran before this deploy)\n", rb.Target)
		}
	}
	if rb.Restored != nil {
		md.p("- **Restored deployment**: %s (%s)\n", rb.Restored.ID, rb.Restored.Provider)
	}
	if rb.Error != "" {
		md.p("- **Rollback failed**: %s\n", oneLine(rb.Error))
	}
	for _, n := range rb.Notes {
		md.p("- %s\n", n)
	}
	for _, w := range rb.Warnings {
		md.p("- ⚠️ %s\n", oneLine(w))
	}
	md.p("\n")
	if rb.Health != nil {
		md.p("Health of the restored version:\n\n")
		md.checks(rb.Health)
	}
}

// writeArtifacts lists what the release left behind: tag, commit, the
// deployment's details (sorted by name) and the version files.
func (d *Document) writeArtifacts(md *markdown) {
	md.p("## Deployment Artifacts\n\n")
	md.p("- **Git tag**: %s\n", cmp.Or(d.Tag, "none"))
	md.p("- **Commit SHA**: %s\n", cmp.Or(d.Commit, "none"))
	platform := "none"
	if d.Deployment != nil {
		platform = d.Deployment.Provider
	}
	md.p("- **Deployment platform**: %s\n", platform)
	if d.Deployment != nil {
		keys := make([]string, 0, len(d.Deployment.Details))
		for k := range d.Deployment.Details {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			md.p("- **%s**: %s\n", k, d.Deployment.Details[k])
		}
	}
	if len(d.Files) > 0 {
		md.p("- **Version files**: %s\n", strings.Join(d.Files, ", "))
	}
	md.p("\n")
}

func (d *Document) writeRollbackProcedure(md *markdown) {
	md.p("## Rollback Procedure\n\n")
	if rb := d.Rollback; rb != nil && rb.Restored != nil && rb.Error == "" {
		how := "automatically"
		if rb.Manual {
			how = "by hand"
		}
		md.p("Done %s at %s: production was rolled back to %s (deployment %s) and its health checked.\n\n",
			how, cmp.Or(rb.FinishedAt, "the end of the run"), d.rollbackTarget(), rb.Restored.ID)
		md.p("Left to you: fix %s and ship a new version.\n", d.Tag)
		for _, s := range d.RollbackSteps {
			md.p("- %s\n", s)
		}
		md.p("\n")
		return
	}
	if len(d.RollbackSteps) == 0 {
		md.p("Nothing was deployed, so there is nothing to roll back.\n\n")
		return
	}
	if d.Deployment != nil {
		md.p("To return production to %s by hand:\n\n", d.rollbackTarget())
	}
	for i, s := range d.RollbackSteps {
		md.p("%d. %s\n", i+1, s)
	}
	md.p("%d. Run the health checks again and watch error rates until they are back to normal.\n\n", len(d.RollbackSteps)+1)
}

// writeSteps writes the pipeline steps as a table; the note is the step's
// error, else its warning, else why it was skipped.
func (d *Document) writeSteps(md *markdown) {
	md.p("## Pipeline Steps\n\n")
	md.p("| Step | Status | Duration | Note |\n|---|---|---|---|\n")
	for _, s := range d.Steps {
		note := cmp.Or(s.Error, s.Warning, s.Reason)
		md.p("| %s | %s | %s | %s |\n", s.Step, s.Status, time.Duration(s.DurationMS)*time.Millisecond, cell(note))
	}
	md.p("\n")
}

func (d *Document) writeWarnings(md *markdown) {
	if len(d.Warnings) == 0 {
		return
	}
	md.p("## Warnings\n\n")
	for _, w := range d.Warnings {
		md.p("- %s\n", oneLine(w))
	}
	md.p("\n")
}

func (d *Document) writeFooter(md *markdown) {
	if d.FinishedAt != "" {
		md.p("_Generated by shipprod for the run of %s to %s._\n", d.StartedAt, d.FinishedAt)
	} else {
		md.p("_Generated by shipprod for the run started at %s._\n", d.StartedAt)
	}
}

// checks writes the results of a round of health checks.
func (md *markdown) checks(h *Health) {
	if len(h.Checks) == 0 {
		md.p("No checks configured.\n\n")
		return
	}
	for _, c := range h.Checks {
		md.p("- %s %s (%s %s): ", statusMark(c.Status), c.Name, c.Kind, c.Target)
		if c.Error != "" {
			md.p("%s", oneLine(c.Error))
		} else {
			md.p("%s", cmp.Or(oneLine(c.Message), c.Status))
		}
		md.p(" — %d attempt(s), %s\n", c.Attempts, time.Duration(c.LatencyMS)*time.Millisecond)
	}
	md.p("\n")
}

func statusMark(s string) string {
	switch shipprod.HealthStatus(s) {
	case shipprod.HealthPass:
		return "✅"
	case shipprod.HealthWarn:
		return "⚠️"
	}
	return "❌"
}

func verdictMark(v string) string {
	switch shipprod.Verdict(v) {
	case shipprod.VerdictPassed:
		return "✅ "
	case shipprod.VerdictFailed:
		return "❌ "
	}
	return "⚠️ "
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func cell(s string) string { return strings.ReplaceAll(oneLine(s), "|", "\\|") }

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
